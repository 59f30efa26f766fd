"""Read one official file (CSV or the OHSS workbook) into typed columns, or fail naming the spot."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl

from app.ingest import plausible, source
from app.ingest.columns import Columns
from app.ingest.errors import IngestError
from app.ingest.formats import FORMATS, FileFormat, HeaderMatch, closest_header_mismatch, match_header
from app.ingest.options import IngestOptions
from app.ingest.parsers import OUTPUT_COLUMNS, ParseOptions, parse, record_key_columns
from app.paths import project_dir

XLSX_MAGIC = source.XLSX_MAGIC


@dataclass
class ParsedFile:
    """A file that parsed cleanly: its format, checksum and typed rows (with their line numbers)."""

    path: Path
    sha256: str
    format: FileFormat
    frame: pl.DataFrame  # `line` and the dataset's OUTPUT_COLUMNS, in file order
    columns: dict[str, int] = field(default_factory=dict)  # header name -> 0-based position

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def row_count(self) -> int:
        return self.frame.height


def read_file(path: Path | str, options: IngestOptions | None = None) -> ParsedFile:
    """Parse a whole file; raise IngestError (file, line, column) at its first problem."""
    options = options or IngestOptions()
    path = Path(path)
    file = str(path)
    raw = source.read_bytes(path, options.max_bytes)
    if not raw.data.strip():
        raise IngestError(file, 1, 1, "the file is empty")
    if raw.data.startswith(XLSX_MAGIC):
        sheet = next(f.sheet for f in FORMATS if f.sheet)
        table = source.xlsx_table(file, raw.data, sheet)
    else:
        table = source.csv_table(file, raw.data)
    match = match_header(table.header)
    if match is None:
        fmt, column, expected = closest_header_mismatch(table.header)
        raise IngestError(
            file, table.header_line, column,
            "the header matches no known official format "
            f"(closest: {fmt.title}, which has {expected!r} here); "
            "see FORMATS.md for the headers borderstats reads",
        )
    frame = _parse(file, table, match, options)
    return ParsedFile(path=path, sha256=raw.sha256, format=match.format, frame=frame,
                      columns=dict(match.positions))


def _parse(file: str, table: source.RawTable, match: HeaderMatch,
           options: IngestOptions) -> pl.DataFrame:
    fmt = match.format
    frame = table.frame
    if frame.is_empty():
        raise IngestError(file, 2, 1, "the file has a header but no data rows")
    width = len(match.positions)
    ragged = _ragged_row_error(file, frame, width, list(match.positions))
    if ragged is not None and table.open_last_line and ragged.line == frame["line"].max():
        # A file cut short (a download that stopped): say so before what its rows contain.
        raise ragged
    cols = Columns(file, frame, match.positions)
    parse(fmt, cols, ParseOptions(known_states=None if options.allow_new_areas else _known_states()))
    plausible.check_periods(cols, fmt, options.today or plausible.today())
    keys = record_key_columns(fmt.dataset)
    first = pl.col("line").min().over(keys)
    cols.check(pl.when(pl.col("line") != first).then(pl.format(
        "this row repeats the figure of line {} (same period and dimensions)", first)), column="")
    if table.open_last_line:
        _check_open_last_line(cols, width)
    error = _first_of(ragged, cols.first_error())
    if error is not None:
        raise error
    return cols.frame.select("line", *OUTPUT_COLUMNS[fmt.dataset])


def _check_open_last_line(cols: Columns, width: int) -> None:
    """A last line with no line ending and an unquoted last field may have been cut inside it."""
    last = cols.frame["line"].max()
    name = next(c for c, i in cols.positions.items() if i == width - 1)
    value = pl.col(f"c{width - 1}")
    cols.check(pl.when((pl.col("line") == last) & (pl.col("fields") == width)).then(pl.format(
        "the last line has no line ending, so its last field {} may be cut short (official files "
        "end every line with one); download the file again, or end the line if it is complete",
        pl.concat_str(pl.lit("'"), value.str.slice(0, 40), pl.lit("'")))), column=name)


def _ragged_row_error(file: str, frame: pl.DataFrame, width: int,
                      columns: list[str]) -> IngestError | None:
    ragged = frame.filter(pl.col("fields") != width).select("line", "fields").head(1)
    if ragged.is_empty():
        return None
    line, fields = ragged.row(0)
    name = columns[fields] if fields < width else ""
    problem = "truncated line" if fields < width else "too many fields"
    return IngestError(file, line, min(fields, width) + 1,
                       f"{problem}: {fields} fields, the header has {width}", column_name=name)


def _first_of(*errors: IngestError | None) -> IngestError | None:
    """The error on the lowest line; on a tie, the one given first."""
    found = [e for e in errors if e is not None]
    return min(found, key=lambda e: e.line) if found else None


@lru_cache
def _known_states() -> frozenset[str]:
    """The postal codes in seed/states.json (read here: the reader needs no database code)."""
    path = project_dir("seed") / "states.json"
    return frozenset(s["code"] for s in json.loads(path.read_text(encoding="utf-8"))["states"])
