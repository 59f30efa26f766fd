"""Read one official file (CSV or the OHSS workbook) into typed records, or fail naming the spot."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from app.ingest.errors import FieldError, IngestError
from app.ingest.formats import (
    FORMATS,
    DeathRecord,
    FileFormat,
    HeaderMatch,
    closest_header_mismatch,
    match_header,
)

XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class ParsedFile:
    """A file that parsed cleanly: its format, checksum and records, ready to load."""

    path: Path
    sha256: str
    format: FileFormat
    records: list[NamedTuple]

    @property
    def name(self) -> str:
        return self.path.name


def record_key(record: NamedTuple) -> tuple:
    """The dimensions that identify a figure in a release (everything but the measures)."""
    if isinstance(record, DeathRecord):
        return (record.year, record.state, record.category, record.sex)
    fields = record._fields
    return tuple(
        getattr(record, f) for f in fields
        if f not in {"event_count", "quantity_lbs", "encounter_count", "fiscal_year"}
    )


def read_file(path: Path | str) -> ParsedFile:
    """Parse a whole file; raise IngestError (file, line, column) at its first problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), 0, 0, f"cannot read the file: {exc.strerror or exc}") from None
    if not data.strip():
        raise IngestError(str(path), 1, 1, "the file is empty")
    if data.startswith(XLSX_MAGIC):
        rows = _xlsx_rows(path, data)
    else:
        rows = _csv_rows(path, data)
    fmt, records = _parse_rows(path, rows)
    return ParsedFile(path=path, sha256=hashlib.sha256(data).hexdigest(), format=fmt,
                      records=records)


def _csv_rows(path: Path, data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        before = data[line_start:exc.start].decode("utf-8", errors="replace")
        field = _field_number(before)
        raise IngestError(
            str(path), line, field,
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8 (the file must be UTF-8 text)",
            column_name=_header_name(data, field) if line > 1 else "",
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    record_start = 1
    try:
        for row in reader:
            yield record_start, row
            record_start = reader.line_num + 1
    except csv.Error as exc:
        # The record that broke began at record_start: find the field whose quote never closed.
        rest = text.splitlines(keepends=True)[record_start - 1:]
        field = _field_number("".join(rest), stop_at_open_quote=True)
        raise IngestError(
            str(path), record_start, field, f"malformed CSV: {exc}",
            column_name=_header_name(data, field) if record_start > 1 else "",
        ) from None


def _field_number(text: str, *, stop_at_open_quote: bool = False) -> int:
    """1-based CSV field at the end of `text` (or where an unclosed quote opened)."""
    field, in_quotes, opened_in = 1, False, 1
    for i, char in enumerate(text):
        if char == '"':
            if in_quotes and text[i + 1:i + 2] == '"':
                continue
            in_quotes = not in_quotes
            opened_in = field
        elif char == "," and not in_quotes:
            field += 1
        elif char == "\n" and not in_quotes:
            break
    return opened_in if stop_at_open_quote and in_quotes else field


def _header_name(data: bytes, field: int) -> str:
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip("\r")
    names = next(csv.reader([first]), [])
    return names[field - 1].strip() if 0 < field <= len(names) else ""


def _xlsx_rows(path: Path, data: bytes) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # imported here: only workbooks need it

    sheet_name = next(f.sheet for f in FORMATS if f.sheet)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise IngestError(str(path), 1, 1, f"not a readable .xlsx workbook: {exc}") from None
    number = 0
    try:
        if sheet_name not in workbook.sheetnames:
            raise IngestError(
                str(path), 1, 1,
                f"the workbook has no sheet {sheet_name!r} (sheets: {', '.join(workbook.sheetnames)})",
            )
        sheet = workbook[sheet_name]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = ["" if v is None else _cell_text(v) for v in values]
            while cells and cells[-1] == "":
                cells.pop()
            yield number, cells
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(str(path), number + 1, 1,
                          f"sheet {sheet_name!r} is damaged after row {number}: {exc}") from None
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_rows(
    path: Path, rows: Iterator[tuple[int, list[str]]]
) -> tuple[FileFormat, list[NamedTuple]]:
    file = str(path)
    header_line, header = _first_nonblank(rows, file)
    match = match_header(header)
    if match is None:
        fmt, column, expected = closest_header_mismatch(header)
        raise IngestError(
            file, header_line, column,
            "the header matches no known official format "
            f"(closest: {fmt.title}, which has {expected!r} here); "
            "see FORMATS.md for the headers borderstats reads",
        )
    records = _records(file, rows, match)
    return match.format, records


def _first_nonblank(rows: Iterator[tuple[int, list[str]]], file: str) -> tuple[int, list[str]]:
    for line, row in rows:
        if any(cell.strip() for cell in row):
            return line, row
    raise IngestError(file, 1, 1, "the file is empty")


def _records(file: str, rows: Iterator[tuple[int, list[str]]], match: HeaderMatch) -> list:
    fmt = match.format
    width = len(match.positions)
    columns = list(match.positions)
    ctx: dict[str, Any] = {}
    records: list[NamedTuple] = []
    seen: dict[tuple, int] = {}
    for line, row in rows:
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            column = min(len(row), width) + 1
            name = columns[len(row)] if len(row) < width else ""
            problem = "truncated line" if len(row) < width else "too many fields"
            raise IngestError(
                file, line, column,
                f"{problem}: {len(row)} fields, the header has {width}",
                column_name=name,
            )
        values = dict(zip(columns, row, strict=True))
        try:
            record = fmt.parse(values, ctx)
        except FieldError as exc:
            raise IngestError(
                file, line, match.positions[exc.column] + 1, str(exc), column_name=exc.column
            ) from None
        key = record_key(record)
        if key in seen:
            raise IngestError(
                file, line, 1,
                f"this row repeats the figure of line {seen[key]} (same period and dimensions)",
            )
        seen[key] = line
        records.append(record)
    if not records:
        raise IngestError(file, 2, 1, "the file has a header but no data rows")
    return records
