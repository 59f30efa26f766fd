"""Malformed input: the ingest names the file, line and column, and writes nothing.

Each bad file is built in tmp_path from a real file's header and a few real lines. It is passed as
the LAST of several files in one command, after good files: those must not be loaded either.
"""

from __future__ import annotations

import csv
import io
import math
import signal
import sqlite3
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from app.ingest import bulk, rollups
from app.ingest.errors import IngestError
from app.ingest.load import FACTS, ingest_paths
from app.ingest.reader import read_file
from app.models import DataVersion, Release, ReleasePeriod
from app.ops.migrate import check

SEIZURES = "cbp-drug-seizures-fy19-fy22.csv"
SW = "cbp-sw-encounters-fy22-fy25-aug.csv"
STATE_ENCOUNTERS = "cbp-encounters-by-state-fy20-fy23.csv"
STATE_DEATHS = "cdc-overdose-deaths-by-state.csv"
OHSS_CSV = "ohss-usbp-encounters-monthly-sector.csv"
OHSS_XLSX = "ohss-usbp-encounters-fy25m11.xlsx"
US_DEATHS = "cdc-overdose-deaths-us-2011-2021.csv"
PRELOADED = US_DEATHS  # already in the database before the bad command
GOOD = (STATE_DEATHS, SW)  # valid files given before the bad one in the same command
SHEET = "Monthly Rgn and Sector"


def real_lines(data_dir: Path, name: str, rows: int = 3) -> list[str]:
    """The header and the first `rows` data lines of an official file, without line endings."""
    with (data_dir / name).open(encoding="utf-8", newline="") as handle:
        return [next(handle).rstrip("\r\n") for _ in range(rows + 1)]


def write(tmp_path: Path, name: str, lines: list[str], *, end: str = "\r\n") -> Path:
    path = tmp_path / name
    path.write_bytes(end.join(lines).encode("utf-8") + end.encode())
    return path


def set_field(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


def drop_field(line: str, index: int) -> str:
    fields = line.split(",")
    del fields[index]
    return ",".join(fields)


def workbook_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def ohss_rows(data_dir: Path, count: int = 3) -> list[list[object]]:
    _header, *lines = real_lines(data_dir, OHSS_CSV, count)
    rows = [list(r) for r in csv.reader(lines)]
    return [["Fiscal\nYear", "Month", "Region", "Sector", "Quantity"],
            *[[int(fy), month, region, sector, int(q)] for fy, month, region, sector, q in rows]]


# --- the cases -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path, Path], Path]
    line: int
    column: int
    column_name: str
    fragment: str


def _missing_column(tmp: Path, data: Path) -> Path:
    return write(tmp, "seizures.csv", [drop_field(line, 4) for line in real_lines(data, SEIZURES)])


def _non_numeric_event_count(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SEIZURES)
    lines[3] = set_field(lines[3], 7, "12a")
    return write(tmp, "seizures.csv", lines)


def _non_numeric_quantity(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SEIZURES)
    lines[2] = set_field(lines[2], 8, "lots")
    return write(tmp, "seizures.csv", lines)


def _empty_drug(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SEIZURES)
    lines[1] = set_field(lines[1], 6, " ")
    return write(tmp, "seizures.csv", lines)


def _unknown_component(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SEIZURES)
    lines[2] = set_field(lines[2], 2, "Air and Marine Operations")
    return write(tmp, "seizures.csv", lines)


def _non_numeric_encounter_count(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SW)
    lines[3] = set_field(lines[3], 8, "1O2")
    return write(tmp, "sbo.csv", lines)


def _non_numeric_deaths(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, STATE_DEATHS, 4)
    lines[2] = set_field(lines[2], 3, '"1,67O"')
    return write(tmp, "deaths.csv", lines, end="\n")


def _unknown_month(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SEIZURES)
    lines[1] = set_field(lines[1], 1, "XYZ")
    return write(tmp, "seizures.csv", lines)


def _unknown_ohss_month(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, OHSS_CSV)
    lines[3] = lines[3].replace("01 October", "13 Octember")
    return write(tmp, "ohss.csv", lines)


def _truncated_line(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SEIZURES)
    fields = lines[3].split(",")
    cut = ",".join(fields[:5]) + "," + fields[5][:7]  # "...,Other,ATLANTA": a download cut short
    path = tmp / "seizures.csv"
    path.write_bytes("\r\n".join([*lines[:3], cut]).encode())
    return path


def _truncated_in_quoted_field(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, OHSS_CSV)
    path = tmp / "ohss.csv"
    path.write_bytes("\r\n".join([*lines[:3], lines[3][: lines[3].index('"') + 4]]).encode())
    return path


def _extra_field(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SEIZURES)
    lines[2] += ",extra"
    return write(tmp, "seizures.csv", lines)


def _empty_file(tmp: Path, _data: Path) -> Path:
    path = tmp / "empty.csv"
    path.write_bytes(b"")
    return path


def _blank_file(tmp: Path, _data: Path) -> Path:
    path = tmp / "blank.csv"
    path.write_bytes(b"\r\n   \r\n")
    return path


def _header_only(tmp: Path, data: Path) -> Path:
    return write(tmp, "seizures.csv", real_lines(data, SEIZURES, 0))


def _non_utf8(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, STATE_ENCOUNTERS)
    assert ",CANADA," in lines[3]
    path = tmp / "state.csv"
    body = "\r\n".join(lines).encode("utf-8").replace(b"CANADA,Title 8,153", "CANADÁ,Title 8,153"
                                                      .encode("latin-1"))
    path.write_bytes(body + b"\r\n")
    return path


def _unknown_header(tmp: Path, _data: Path) -> Path:
    return write(tmp, "other.csv", ["date,port,pounds", "2021-10-01,Nogales,12.5"])


def _near_miss_header(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SW)
    lines[0] = lines[0].replace("Encounter Count", "Encounters")
    return write(tmp, "sbo.csv", lines)


def _duplicate_row(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SEIZURES)
    return write(tmp, "seizures.csv", [*lines, set_field(lines[2], 7, "99")])


def _duplicate_row_other_case(tmp: Path, data: Path) -> Path:
    lines = real_lines(data, SEIZURES, 1)
    fields = lines[1].split(",")
    fields[5] = fields[5].title()  # ATLANTA FIELD OFFICE -> Atlanta Field Office: the same area
    return write(tmp, "seizures.csv", [*lines, ",".join(fields)])


def _xlsx_not_a_zip(tmp: Path, _data: Path) -> Path:
    path = tmp / "ohss.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"this is not a workbook" * 20)
    return path


def _xlsx_truncated(tmp: Path, data: Path) -> Path:
    path = tmp / "ohss.xlsx"
    path.write_bytes((data / OHSS_XLSX).read_bytes()[:200_000])
    return path


def _xlsx_missing_sheet(tmp: Path, data: Path) -> Path:
    path = tmp / "ohss.xlsx"
    path.write_bytes(workbook_bytes({"Sheet1": ohss_rows(data), "Annual Count": [["x"]]}))
    return path


def _xlsx_bad_cell(tmp: Path, data: Path) -> Path:
    rows = ohss_rows(data)
    rows[3][4] = "n/a"
    path = tmp / "ohss.xlsx"
    path.write_bytes(workbook_bytes({"Annual Count": [["x"]], SHEET: rows}))
    return path


CASES = [
    Case("missing-column", _missing_column, 1, 5, "", "'Land Filter'"),
    Case("non-numeric-event-count", _non_numeric_event_count, 4, 8, "Count of Event", "'12a'"),
    Case("non-numeric-quantity", _non_numeric_quantity, 3, 9, "Sum Qty (lbs)", "'lots'"),
    Case("empty-drug-type", _empty_drug, 2, 7, "Drug Type", "drug type is empty"),
    Case("unknown-component", _unknown_component, 3, 3, "Component", "unknown component"),
    Case("non-numeric-encounter-count", _non_numeric_encounter_count, 4, 9, "Encounter Count",
         "'1O2'"),
    Case("non-numeric-deaths", _non_numeric_deaths, 3, 4, "DEATHS", "'1,67O'"),
    Case("unknown-month", _unknown_month, 2, 2, "Month (abbv)", "'XYZ'"),
    Case("unknown-ohss-month", _unknown_ohss_month, 4, 2, "Month", "'13 Octember'"),
    Case("truncated-line", _truncated_line, 4, 7, "Drug Type", "truncated line: 6 fields"),
    Case("truncated-in-quoted-field", _truncated_in_quoted_field, 4, 4, "Sector", "malformed CSV"),
    Case("extra-field", _extra_field, 3, 10, "", "too many fields: 10 fields"),
    Case("empty-file", _empty_file, 1, 1, "", "the file is empty"),
    Case("blank-lines-only", _blank_file, 1, 1, "", "the file is empty"),
    Case("header-only", _header_only, 2, 1, "", "header but no data rows"),
    Case("non-utf8-byte", _non_utf8, 4, 7, "Citizenship", "byte 0xc1 is not valid UTF-8"),
    Case("unknown-header", _unknown_header, 1, 1, "", "matches no known official format"),
    Case("near-miss-header", _near_miss_header, 1, 9, "", "'Encounter Count'"),
    Case("duplicate-row", _duplicate_row, 5, 1, "", "repeats the figure of line 3"),
    Case("duplicate-row-other-case", _duplicate_row_other_case, 3, 1, "",
         "repeats the figure of line 2"),
    Case("xlsx-not-a-zip", _xlsx_not_a_zip, 1, 1, "", "not a readable .xlsx workbook"),
    Case("xlsx-truncated", _xlsx_truncated, 1, 1, "", "not a readable .xlsx workbook"),
    Case("xlsx-missing-sheet", _xlsx_missing_sheet, 1, 1, "", f"no sheet '{SHEET}'"),
    Case("xlsx-bad-cell", _xlsx_bad_cell, 4, 5, "Quantity", "'n/a'"),
]


@pytest.fixture
def preloaded_engine(empty_engine, data_dir):
    """A database that already holds one release, so "unchanged" is not trivially "empty"."""
    ingest_paths(empty_engine, [str(data_dir / PRELOADED)])
    return empty_engine


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_file_is_rejected_naming_file_line_column_and_nothing_is_loaded(
        case, preloaded_engine, data_dir, tmp_path, db_state):
    before = db_state(preloaded_engine)
    bad = case.build(tmp_path, data_dir)
    with pytest.raises(IngestError) as info:
        ingest_paths(preloaded_engine, [*(str(data_dir / g) for g in GOOD), str(bad)])
    error = info.value
    assert error.file == str(bad)
    assert error.line == case.line
    assert error.column == case.column
    assert error.column_name == case.column_name
    assert case.fragment in error.message
    assert str(error).startswith(f"{bad}: line {case.line}, column ")
    assert "\n" not in str(error)
    assert db_state(preloaded_engine) == before  # the good files before it were not loaded


@pytest.mark.parametrize("case", [c for c in CASES if c.id in {"truncated-in-quoted-field",
                                                                "non-utf8-byte"}],
                         ids=lambda c: c.id)
def test_error_column_is_the_csv_field(case, data_dir, tmp_path):
    with pytest.raises(IngestError) as info:
        read_file(case.build(tmp_path, data_dir))
    assert (info.value.line, info.value.column, info.value.column_name) == \
        (case.line, case.column, case.column_name)


def test_the_same_command_without_the_bad_file_loads(preloaded_engine, data_dir, db_state):
    """The good files of the cases above are valid: without the bad file, they load."""
    before = db_state(preloaded_engine)
    results = ingest_paths(preloaded_engine, [str(data_dir / g) for g in GOOD])
    assert [r.already_loaded for r in results] == [False, False]
    after = db_state(preloaded_engine)
    assert after["release"][0] == before["release"][0] + 2
    assert after["data_version"] == before["data_version"] + 1


def test_unreadable_path_is_an_ingest_error(preloaded_engine, data_dir, tmp_path, db_state):
    before = db_state(preloaded_engine)
    missing = tmp_path / "no-such-file.csv"
    with pytest.raises(IngestError, match="cannot read the file") as info:
        ingest_paths(preloaded_engine, [str(data_dir / GOOD[0]), str(missing)])
    assert info.value.file == str(missing)
    assert db_state(preloaded_engine) == before


def test_of_several_bad_files_the_first_given_is_named(preloaded_engine, data_dir, tmp_path,
                                                      db_state):
    """Files are parsed two at a time; the error is still the first bad file's in the order
    given, even when a later one fails sooner (a missing file, against a whole official file
    whose last line is short of a field)."""
    before = db_state(preloaded_engine)
    lines = (data_dir / SW).read_text(encoding="utf-8").splitlines()
    big = write(tmp_path, "short-last-line.csv", [*lines, drop_field(lines[-1], 1)])
    missing = tmp_path / "no-such-file.csv"
    for paths, named in (([big, missing], big), ([missing, big], missing)):
        with pytest.raises(IngestError) as info:
            ingest_paths(preloaded_engine, [str(data_dir / GOOD[0]), *map(str, paths)])
        assert info.value.file == str(named)
        if named == big:
            assert info.value.line == len(lines) + 1
    assert db_state(preloaded_engine) == before


@pytest.mark.parametrize("limit, most", [(None, 2), (1, 1)], ids=["small-files", "large-files"])
def test_files_are_parsed_two_at_a_time_unless_one_is_large(monkeypatch, data_files, limit, most):
    """Small files (every official one) are parsed two at a time; if any file is over
    PARALLEL_PARSE_MAX_BYTES, one at a time (a parse holds several times its file in memory)."""
    from app.ingest import load

    if limit is not None:
        monkeypatch.setattr(load, "PARALLEL_PARSE_MAX_BYTES", limit)
    both = threading.Barrier(2, timeout=10)
    running, seen, lock = [0], [], threading.Lock()

    def counted(path, options=None):
        with lock:
            running[0] += 1
            seen.append(running[0])
        try:
            if most == 2 and len(seen) <= 2:
                both.wait()  # the first two parses are under way together (or this times out)
            return read_file(path, options)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(load, "read_file", counted)
    parsed = load.start_parsing([str(p) for p in data_files]).results()
    assert [p.path for p in parsed] == list(data_files)
    assert max(seen) == most


# --- bugs: bad input that is not rejected as it should be ------------------------------------------

def test_word_starting_like_a_month_is_not_a_month(data_dir, tmp_path):
    lines = real_lines(data_dir, SEIZURES)
    lines[2] = set_field(lines[2], 1, "JUNK")
    with pytest.raises(IngestError) as info:
        read_file(write(tmp_path, "seizures.csv", lines))
    assert (info.value.line, info.value.column) == (3, 2)


@pytest.mark.parametrize(("column", "value"), [(9, '"1394,42380715"'), (8, '"4,5"')],
                         ids=["decimal-comma-quantity", "decimal-comma-count"])
def test_comma_that_is_not_a_thousands_separator_is_rejected(data_dir, tmp_path, column, value):
    lines = real_lines(data_dir, SEIZURES)
    lines[2] = set_field(lines[2], column - 1, value)
    with pytest.raises(IngestError) as info:
        read_file(write(tmp_path, "seizures.csv", lines))
    assert (info.value.line, info.value.column) == (3, column)


def _corrupt_member(data_dir: Path, tmp_path: Path, member: str, cut: bool) -> Path:
    original = zipfile.ZipFile(data_dir / OHSS_XLSX)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            content = original.read(info.filename)
            if info.filename == member:
                content = content[: len(content) // 2] if cut else b"<not xml"
            out.writestr(info, content)
    path = tmp_path / "ohss.xlsx"
    path.write_bytes(buffer.getvalue())
    return path




@pytest.mark.parametrize(("member", "cut"), [("xl/workbook.xml", False),
                                             ("xl/worksheets/sheet16.xml", True)],
                         ids=["damaged-workbook-xml", "damaged-sheet-xml"])
def test_xlsx_with_damaged_xml_is_an_ingest_error(data_dir, tmp_path, member, cut):
    with pytest.raises(IngestError) as info:
        read_file(_corrupt_member(data_dir, tmp_path, member, cut))
    assert info.value.file.endswith("ohss.xlsx")


def test_value_longer_than_its_column_is_an_ingest_error(preloaded_engine, data_dir, tmp_path,
                                                         db_state):
    before = db_state(preloaded_engine)
    lines = real_lines(data_dir, STATE_ENCOUNTERS)
    lines[3] = lines[3].replace(",CANADA,", ",UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND "
                                            "INCLUDING OVERSEAS TERRITORIES,")
    bad = write(tmp_path, "state.csv", lines)
    try:
        with pytest.raises(IngestError) as info:
            ingest_paths(preloaded_engine, [str(data_dir / GOOD[0]), str(bad)])
        assert (info.value.line, info.value.column) == (4, 7)
    finally:
        assert db_state(preloaded_engine) == before


# --- the command line ------------------------------------------------------------------------------

def test_cli_ingest_bad_file_exits_1_with_one_line_reason(database_url, empty_engine, data_dir,
                                                         tmp_path, run_cli, db_state):
    before = db_state(empty_engine)
    bad = _non_numeric_event_count(tmp_path, data_dir)
    result = run_cli(["ingest", data_dir / GOOD[0], bad], database_url=database_url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr == (
        f"borderstats: {bad}: line 4, column 8 (Count of Event): count '12a' is not a number "
        "(nothing was loaded)\n")
    assert db_state(empty_engine) == before


def test_cli_ingest_damaged_workbook_exits_1_with_one_line_reason(database_url, data_dir, tmp_path,
                                                                  run_cli):
    bad = _corrupt_member(data_dir, tmp_path, "xl/workbook.xml", cut=False)
    result = run_cli(["ingest", bad], database_url=database_url)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr


# --- a process killed mid-ingest -------------------------------------------------------------------

class WriterProbe:
    """Tells whether another connection is writing: holds SQLite's write lock / has inserted into
    `release` on Postgres (the ingest's transaction is under way)."""

    def __init__(self, backend: str, url: str):
        self.backend = backend
        self.url = url
        self._pg = None
        if backend == "postgres":
            import psycopg

            self._pg = psycopg.connect(url, autocommit=True)

    def writing(self) -> bool:
        if self._pg is not None:
            return self._pg.execute(
                "SELECT count(*) FROM pg_locks WHERE relation = 'release'::regclass "
                "AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()"
            ).fetchone()[0] > 0
        conn = sqlite3.connect(make_url(self.url).database, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return True
            raise
        finally:
            conn.close()

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()


def _wait_for_other_backends_to_end(url: str, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed ingest's backend did not end"
            time.sleep(0.05)


def assert_releases(engine, expected: int) -> None:
    """Exactly `expected` releases, each whole: its facts, its months and its row count agree;
    no fact without its release; the data version says whether anything is loaded."""
    with engine.connect() as conn:
        releases = conn.execute(select(Release.id, Release.dataset, Release.row_count)).all()
        assert len(releases) == expected
        for release in releases:
            table = FACTS[release.dataset].table
            facts = conn.execute(select(func.count()).select_from(table)
                                 .where(table.c.release_id == release.id)).scalar_one()
            periods = conn.execute(select(func.coalesce(func.sum(ReleasePeriod.row_count), 0))
                                   .where(ReleasePeriod.release_id == release.id)).scalar_one()
            assert facts == periods == release.row_count
        for spec in FACTS.values():
            orphans = conn.execute(select(func.count()).select_from(spec.table).where(
                spec.table.c.release_id.not_in(select(Release.id)))).scalar_one()
            assert orphans == 0
        version = conn.execute(select(DataVersion.version)).scalar_one()
        assert version == (1 if releases else 0)
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"


@pytest.mark.slow
def test_killed_ingest_leaves_no_partial_release(backend, database_factory, data_files,
                                                 data_dir, spawn_cli):
    """SIGKILL `borderstats ingest` of every file while it is writing (at once, and 0.4 s in,
    its indexes and keys dropped): nothing is loaded. A third run is never killed and loads
    every file, the NCHS reference figures shipped in seed/ with them, whole."""
    delays = (0.0, 0.4, math.inf)  # seconds after the write transaction is seen
    urls = [database_factory.new() for _ in delays]
    processes = [spawn_cli(["ingest", "--quiet", *data_files], database_url=url) for url in urls]
    probes = [WriterProbe(backend, url) for url in urls]
    writing_since: list[float | None] = [None] * len(delays)
    killed = [False] * len(delays)  # killed while the probe still saw it writing
    deadline = time.monotonic() + 120
    try:
        while any(p.poll() is None for p in processes):
            assert time.monotonic() < deadline, "the ingest processes did not finish"
            for i, process in enumerate(processes):
                if killed[i] or process.poll() is not None:
                    continue
                if writing_since[i] is None and probes[i].writing():
                    writing_since[i] = time.monotonic()
                if (writing_since[i] is not None and time.monotonic() - writing_since[i] >= delays[i]
                        and probes[i].writing()):
                    process.send_signal(signal.SIGKILL)
                    killed[i] = True
            time.sleep(0.01)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        for probe in probes:
            probe.close()
    # Both kills landed while the load was writing; the last run was left to finish.
    assert killed == [True, True, False], "the kills should land while the ingest is writing"
    assert processes[-1].returncode == 0

    for url, was_killed in zip(urls, killed, strict=True):
        if backend == "postgres":
            _wait_for_other_backends_to_end(url)
        engine = database_factory.engine(url)
        assert_releases(engine, 0 if was_killed else len(data_files) + 1)
        # The first load drops and makes again the tables' indexes and keys inside its
        # transaction: killed at any point, the schema is still the migrated one.
        check(engine)
        assert all(indexes for indexes, _ in _schema(engine).values())
        # The database is usable afterwards: no lock or journal left behind.
        [result] = ingest_paths(engine, [str(data_dir / US_DEATHS)])
        assert result.rows == 11


# --- two ingests at once ---------------------------------------------------------------------------

def test_concurrent_ingest_waits_for_the_running_one(empty_engine, data_dir):
    """A second ingest started while another is writing waits for it, then loads: both succeed."""
    second: dict[str, object] = {}

    def run_second() -> None:
        try:
            second["results"] = ingest_paths(empty_engine, [str(data_dir / US_DEATHS)])
        except Exception as exc:
            second["error"] = exc

    thread = threading.Thread(target=run_second)

    def while_first_is_writing(message: str, _n: int) -> None:
        if message.startswith("loaded") and not thread.is_alive():
            thread.start()
            time.sleep(1.0)  # the first ingest keeps its transaction open meanwhile

    first = ingest_paths(empty_engine, [str(data_dir / STATE_DEATHS)], progress=while_first_is_writing)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert "error" not in second, second.get("error")
    assert [r.already_loaded for r in first + second["results"]] == [False, False]
    with empty_engine.connect() as conn:
        # the two files and the NCHS reference figures shipped in seed/
        assert conn.execute(select(func.count()).select_from(Release)).scalar_one() == 3
        assert conn.execute(select(DataVersion.version)).scalar_one() == 2


def _schema(engine) -> dict[str, tuple[list, list]]:
    found = inspect(engine)
    return {t: (sorted(i["name"] for i in found.get_indexes(t)),
                sorted(k["name"] for k in found.get_foreign_keys(t)))
            for t in ("seizure", "seizure_rollup", "encounter", "encounter_rollup", "overdose_death")}


@pytest.fixture
def dropped(monkeypatch) -> list[list]:
    """What each load's bulk.drop_checks dropped (the real function runs; its result is kept)."""
    seen: list[list] = []
    real = bulk.drop_checks

    def spy(conn):
        seen.append(real(conn))
        return seen[-1]

    monkeypatch.setattr(bulk, "drop_checks", spy)
    return seen


def test_a_failed_first_load_leaves_the_empty_database_and_its_schema(empty_engine, data_files,
                                                                      dropped, monkeypatch):
    """The first load into an empty database fills the tables with their indexes (and on
    Postgres their foreign keys) dropped and makes them again at the end: a failure late in that
    load (here the rollup step, after every file's rows are in) leaves no release and every
    index and key in place; the files then load, their facts checked by the keys made again."""
    schema = _schema(empty_engine)
    assert all(indexes for indexes, _ in schema.values()) and schema["seizure"][1]

    def failing(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    with monkeypatch.context() as patched:
        patched.setattr(rollups, "replace_months", failing)
        with pytest.raises(RuntimeError, match="the disk is full"):
            ingest_paths(empty_engine, list(map(str, data_files)))
    # The load did take the bulk path: every index, and on Postgres every key, was dropped.
    indexes = sum(len(i) for i, _ in schema.values())
    keys = sum(len(k) for _, k in schema.values()) if empty_engine.dialect.name == "postgresql" else 0
    assert [len(d) for d in dropped] == [indexes + keys]
    with empty_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Release)) == 0
    assert _schema(empty_engine) == schema
    check(empty_engine)
    results = ingest_paths(empty_engine, list(map(str, data_files)))
    assert not any(r.already_loaded for r in results)
    assert _schema(empty_engine) == schema
    check(empty_engine)
    with empty_engine.connect() as conn:
        orphans = conn.scalar(text(
            "SELECT count(*) FROM seizure s LEFT JOIN area a ON a.id = s.area_id "
            "LEFT JOIN drug d ON d.id = s.drug_id WHERE a.id IS NULL OR d.id IS NULL"))
        assert orphans == 0


def test_a_first_load_beside_a_reader_keeps_its_checks_and_finishes(backend, empty_engine,
                                                                    data_files, dropped):
    """Postgres: a reader holding the release table (an open REPEATABLE READ transaction, as the
    catalog reads) keeps the first load from locking every table within its wait; the load then
    keeps its indexes and keys and finishes beside the reader instead of deadlocking with it."""
    if backend != "postgres":
        pytest.skip("the lock-wait fallback is Postgres's: SQLite drops indexes only, no keys")
    with empty_engine.connect() as reader:
        reader.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        assert reader.scalar(select(func.count()).select_from(Release)) == 0
        started = time.monotonic()
        results = ingest_paths(empty_engine, list(map(str, data_files)))
        assert time.monotonic() - started < 60
        assert dropped == [[]]
        assert reader.scalar(select(func.count()).select_from(Release)) == 0  # its snapshot
        reader.rollback()
    assert not any(r.already_loaded for r in results)
    check(empty_engine)
