"""The one error an ingest raises: where in which file, and what is wrong."""

from __future__ import annotations


class IngestError(Exception):
    """A file was rejected; nothing was written."""

    def __init__(self, file: str, line: int, column: int, message: str, column_name: str = ""):
        self.file = file
        self.line = line
        self.column = column
        self.column_name = column_name
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"column {self.column}"
        if self.column_name:
            where += f" ({self.column_name})"
        return f"{self.file}: line {self.line}, {where}: {self.message}"
