"""What one ingest command may accept: new areas or drugs, file size, and the date it runs on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_MAX_FILE_MB = 200.0


@dataclass(frozen=True)
class IngestOptions:
    """Choices a user makes on the command line (`borderstats ingest --allow-new-areas ...`)."""

    allow_new_areas: bool = False  # areas of responsibility and state codes the reference lacks
    allow_new_drugs: bool = False
    max_file_mb: float = DEFAULT_MAX_FILE_MB
    today: dt.date | None = None  # None: the system date

    @property
    def max_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)
