"""The fast CSV splitter (polars, one record per line) gives exactly what the csv module gives.

Every official CSV file is split both ways: the same header, the same records with the same line
numbers and the same fields. A file the fast path cannot split (a quoted line break) goes through
the csv module and keeps its line numbers.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from app.ingest import source

OFFICIAL_CSV = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "shared" / "data")
                      .glob("*.csv"))


def csv_module_records(data: bytes) -> list[tuple[int, list[str]]]:
    """(line, fields) of every non-blank record, read with the csv module alone."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    out, start = [], 1
    for row in reader:
        if any(cell.strip() for cell in row):
            out.append((start, row))
        start = reader.line_num + 1
    return out


def table_records(table: source.RawTable) -> list[tuple[int, list[str]]]:
    width = len(table.header)
    rows = []
    for row in table.frame.iter_rows(named=True):
        fields = [row[f"c{i}"] for i in range(min(row["fields"], width))]
        rows.append((row["line"], fields))
    return [(table.header_line, table.header), *rows]


@pytest.mark.parametrize("name", OFFICIAL_CSV)
def test_fast_split_of_an_official_file_equals_the_csv_module(name, data_dir):
    data = (data_dir / name).read_bytes()
    assert table_records(source.csv_table(name, data)) == csv_module_records(data)


def test_a_quoted_line_break_is_split_by_the_csv_module_with_its_line_numbers(data_dir):
    lines = (data_dir / "cdc-overdose-deaths-us-2011-2021.csv").read_text().splitlines()
    lines[3] = lines[3].replace('"2013"', '"20\n13"')  # a record spanning lines 4 and 5
    data = ("\n".join(lines) + "\n").encode()
    table = source.csv_table("us.csv", data)
    assert table_records(table) == csv_module_records(data)
    assert [line for line, _ in table_records(table)][3:5] == [4, 6]
