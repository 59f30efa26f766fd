"""Read a file's bytes (bounded, NUL-free, UTF-8) into a table of raw text fields with line numbers.

CSV files whose lines carry no line break inside quotes (every official release) are split with
polars string kernels: one record per line, lines with quotes through the csv module. Anything
else goes through the csv module whole, which also finds unterminated quotes. Workbooks are read
with fastexcel (openpyxl where the sheet's cells do not start where its dimension says).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from app.ingest.errors import IngestError

XLSX_MAGIC = b"PK\x03\x04"
CHUNK = 1 << 20


@dataclass
class RawTable:
    """Every non-blank record after the header: `line`, `fields` (how many) and text columns c0..cN."""

    header_line: int
    header: list[str]
    frame: pl.DataFrame
    # The last line has no line ending and its last field is not quoted: it may be cut short.
    open_last_line: bool = False


@dataclass
class FileBytes:
    data: bytes
    sha256: str


def read_bytes(path: Path, max_bytes: int) -> FileBytes:
    """Read at most `max_bytes` in chunks; refuse a larger file or one holding a NUL byte."""
    file = str(path)
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    _refuse_nul(file, b"".join(chunks) + chunk[: nul + 1], size + nul)
                if size + len(chunk) > max_bytes:
                    seen = b"".join(chunks) + chunk[: max_bytes - size]
                    raise IngestError(
                        file, seen.count(b"\n") + 1, _field_at_end(seen),
                        f"the file is larger than {max_bytes / 1e6:g} MB, the limit "
                        "(BORDERSTATS_MAX_FILE_MB or --max-file-mb); official files are a few MB",
                    )
                chunks.append(chunk)
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise IngestError(file, 0, 0, f"cannot read the file: {exc.strerror or exc}") from None
    return FileBytes(b"".join(chunks), digest.hexdigest())


def _refuse_nul(file: str, seen: bytes, offset: int) -> None:
    if seen.startswith(XLSX_MAGIC):
        return  # a workbook is binary: NUL bytes are normal there
    line, field = seen.count(b"\n") + 1, _field_at_end(seen[:-1])
    raise IngestError(file, line, field, f"NUL byte (0x00) at byte {offset:,}: the file is not CSV text",
                      column_name=_header_name(seen, field) if line > 1 else "")


def _field_at_end(data: bytes) -> int:
    """1-based field the end of `data` lies in (quotes ignored: good enough for a refusal)."""
    line = data[data.rfind(b"\n") + 1:]
    return line.count(b",") + 1


def decode(file: str, data: bytes) -> str:
    """The text of a UTF-8 file (BOM dropped), or an IngestError at the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        before = data[line_start:exc.start].decode("utf-8", errors="replace")
        field = field_number(before)
        raise IngestError(
            file, line, field,
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8 (the file must be UTF-8 text)",
            column_name=_header_name(data, field) if line > 1 else "",
        ) from None


def field_number(text: str, *, stop_at_open_quote: bool = False) -> int:
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


# --- CSV -------------------------------------------------------------------------------------------

def csv_table(file: str, data: bytes) -> RawTable:
    """Split a CSV file into records; the header is its first non-blank record."""
    text = decode(file, data)
    lines = text.split("\n")
    ended = lines[-1] == ""
    if ended:
        lines.pop()
    frame = _split_lines(lines)
    if frame is None:
        return _csv_module_table(file, data, text)
    rows = frame.filter(~pl.col("blank"))
    if rows.is_empty():
        raise IngestError(file, 1, 1, "the file is empty")
    header_row = rows.row(0, named=True)
    header = list(header_row["cells"])
    table = rows.slice(1)
    open_last = (not ended and not table.is_empty() and table["line"][-1] == len(lines)
                 and not lines[-1].rstrip("\r").endswith('"'))
    return RawTable(header_row["line"], header, _widen(table, len(header)), open_last)


def _split_lines(lines: list[str]) -> pl.DataFrame | None:
    """Lines -> (line, cells, blank); None when a record may span lines or a quote is malformed."""
    series = pl.Series("text", lines, dtype=pl.String).str.strip_suffix("\r")
    frame = pl.DataFrame({"line": pl.int_range(1, len(lines) + 1, eager=True), "text": series})
    if frame.select(pl.col("text").str.contains("\r", literal=True).any()).item():
        return None  # a bare carriage return: a line break the csv module handles
    quoted = pl.col("text").str.contains('"', literal=True)
    plain = frame.filter(~quoted).select(pl.col("line").cast(pl.Int64),
                                         pl.col("text").str.split(",").alias("cells"))
    tricky = frame.filter(quoted)
    if not tricky.is_empty():
        if (tricky["text"].str.count_matches('"', literal=True) % 2 == 1).any():
            return None
        csv.field_size_limit(sys.maxsize)
        try:
            parsed = list(csv.reader(tricky["text"].to_list(), strict=True))
        except csv.Error:
            return None
        if len(parsed) != tricky.height:
            return None
        plain = pl.concat([plain, _list_column(tricky["line"].to_list(), parsed)]).sort("line")
    blank = pl.col("cells").list.eval(pl.element().str.strip_chars() == "").list.all()
    return plain.with_columns(blank.alias("blank"))


def _list_column(lines: list[int], rows: list[list[str]]) -> pl.DataFrame:
    """(line, cells) from Python lists, built flat (a list of lists converts slowly)."""
    flat = pl.DataFrame({
        "line": pl.Series([line for line, row in zip(lines, rows, strict=True) for _ in row],
                          dtype=pl.Int64),
        "cells": pl.Series([cell for row in rows for cell in row], dtype=pl.String),
    })
    grouped = flat.group_by("line", maintain_order=True).agg("cells")
    empty = [line for line, row in zip(lines, rows, strict=True) if not row]
    if empty:
        grouped = pl.concat([grouped, pl.DataFrame(
            {"line": pl.Series(empty, dtype=pl.Int64),
             "cells": pl.Series([[] for _ in empty], dtype=pl.List(pl.String))})])
    return grouped


def _csv_module_table(file: str, data: bytes, text: str) -> RawTable:
    """The csv module over the whole text: records may span lines; malformed quotes are errors."""
    csv.field_size_limit(sys.maxsize)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    record_start = 1
    try:
        for row in reader:
            records.append((record_start, row))
            record_start = reader.line_num + 1
    except csv.Error as exc:
        # The record that broke began at record_start: find the field whose quote never closed.
        rest = text.splitlines(keepends=True)[record_start - 1:]
        field = field_number("".join(rest), stop_at_open_quote=True)
        raise IngestError(
            file, record_start, field, f"malformed CSV: {exc}",
            column_name=_header_name(data, field) if record_start > 1 else "",
        ) from None
    return _records_table(file, records)


def _records_table(file: str, records: list[tuple[int, list[str]]]) -> RawTable:
    kept = [(line, row) for line, row in records if row and any(c.strip() for c in row)]
    if not kept:
        raise IngestError(file, 1, 1, "the file is empty")
    (header_line, header), rest = kept[0], kept[1:]
    frame = _list_column([line for line, _ in rest], [row for _, row in rest]).sort("line")
    return RawTable(header_line, header, _widen(frame, len(header)))


def _widen(frame: pl.DataFrame, width: int) -> pl.DataFrame:
    """(line, cells) -> line, fields, c0..c{width-1} (missing fields null, extra ones dropped)."""
    cells = pl.col("cells")
    return frame.select(
        pl.col("line").cast(pl.Int64),
        cells.list.len().cast(pl.Int64).alias("fields"),
        *(cells.list.get(i, null_on_oob=True).alias(f"c{i}") for i in range(width)),
    )


# --- workbooks -------------------------------------------------------------------------------------

def xlsx_table(file: str, data: bytes, sheet: str) -> RawTable:
    """The rows of one sheet as text, numbered as the sheet numbers them."""
    import fastexcel

    try:
        workbook = fastexcel.read_excel(data)
        names = workbook.sheet_names
    except Exception as exc:
        raise IngestError(file, 1, 1, f"not a readable .xlsx workbook: {_reason(exc)}") from None
    if sheet not in names:
        raise IngestError(file, 1, 1,
                          f"the workbook has no sheet {sheet!r} (sheets: {', '.join(names)})")
    origin = _sheet_origin(data, sheet)
    try:
        frame = workbook.load_sheet_by_name(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:
        raise IngestError(file, 1, 1, f"sheet {sheet!r} is damaged: {_reason(exc)}") from None
    if origin is None or origin[2:] != (frame.height, frame.width):
        return _openpyxl_table(file, data, sheet)
    first_row, first_col = origin[0], origin[1]
    cells = [pl.lit("")] * first_col + [pl.col(c).fill_null("") for c in frame.columns]
    # A row has as many fields as up to its last non-empty cell (trailing empty cells don't count).
    rows = frame.select(
        pl.int_range(first_row, first_row + frame.height).alias("line"),
        pl.concat_list(cells).alias("cells"),
        pl.max_horizontal([pl.when(c != "").then(pl.lit(i + 1)).otherwise(pl.lit(0))
                           for i, c in enumerate(cells)]).alias("used"),
    )
    rows = rows.filter(pl.col("cells").list.eval(pl.element().str.strip_chars() != "").list.any())
    if rows.is_empty():
        raise IngestError(file, 1, 1, "the file is empty")
    header_line = rows["line"][0]
    used = rows["used"][0]
    header = rows["cells"][0].to_list()[:used]
    body = rows.slice(1).with_columns(pl.col("cells").list.head(pl.col("used")))
    return RawTable(header_line, header, _widen(body.select("line", "cells"), len(header)))


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _sheet_origin(data: bytes, sheet: str) -> tuple[int, int, int, int] | None:
    """(first row, first column index, rows, columns) of the sheet's dimension, if it has one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            member = _sheet_member(archive, sheet)
            if member is None:
                return None
            with archive.open(member) as handle:
                head = handle.read(4096)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None
    match = _DIMENSION.search(head)
    if not match:
        return None
    col1, row1 = _column_index(match.group(1).decode()), int(match.group(2))
    col2 = _column_index(match.group(3).decode()) if match.group(3) else col1
    row2 = int(match.group(4)) if match.group(4) else row1
    return row1, col1, row2 - row1 + 1, col2 - col1 + 1


def _sheet_member(archive: zipfile.ZipFile, sheet: str) -> str | None:
    workbook = archive.read("xl/workbook.xml").decode("utf-8", errors="replace")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
    for tag in re.findall(r"<sheet\b[^>]*>", workbook):
        name = re.search(r'\bname="([^"]*)"', tag)
        rid = re.search(r'\br:id="([^"]*)"', tag)
        if name and rid and _xml_text(name.group(1)) == sheet:
            for rel in re.findall(r"<Relationship\b[^>]*>", rels):
                if f'Id="{rid.group(1)}"' in rel:
                    target = re.search(r'Target="([^"]*)"', rel)
                    if target:
                        path = target.group(1).lstrip("/")
                        return path if path.startswith("xl/") else f"xl/{path}"
    return None


def _xml_text(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


def _openpyxl_table(file: str, data: bytes, sheet_name: str) -> RawTable:
    import openpyxl  # only for sheets whose layout fastexcel cannot place exactly

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise IngestError(file, 1, 1, f"not a readable .xlsx workbook: {exc}") from None
    records: list[tuple[int, list[str]]] = []
    number = 0
    try:
        for number, values in enumerate(workbook[sheet_name].iter_rows(values_only=True), start=1):
            cells = ["" if v is None else _cell_text(v) for v in values]
            while cells and cells[-1] == "":
                cells.pop()
            records.append((number, cells))
    except Exception as exc:
        raise IngestError(file, number + 1, 1,
                          f"sheet {sheet_name!r} is damaged after row {number}: {exc}") from None
    finally:
        workbook.close()
    return _records_table(file, records)


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
