"""Strict ingest validation, table-driven: a mutated copy of a real official file -> exit 1, one line
naming file, line and column, and the database unchanged (on SQLite and Postgres).

Each case copies an official file into tmp_path, changes it the way the issue describes, and runs
the real `borderstats ingest` command (Typer's CliRunner, in process, so "today" can be fixed; one
case runs it as a subprocess). Good files come first in the same command: they must not load either.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import borderstats_command, cli_env
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import config
from app.ingest import plausible
from app.ingest.load import ingest_paths
from app.models import Area, Drug, Encounter
from app.ops.cli import cli

TODAY = dt.date(2026, 1, 15)  # the date every in-process case runs on
SW_OLD, SW_NEW = "cbp-sw-encounters-fy19-fy22.csv", "cbp-sw-encounters-fy22-fy25-aug.csv"
SEIZURES = "cbp-drug-seizures-fy19-fy22.csv"
STATE_ENCOUNTERS = "cbp-encounters-by-state-fy20-fy23.csv"
STATE_DEATHS = "cdc-overdose-deaths-by-state.csv"
US_DEATHS = "cdc-overdose-deaths-us-2011-2021.csv"
GOOD = (STATE_DEATHS, SW_NEW)  # valid files given before the bad one
SEE_README = "the most one row can plausibly hold (see 'Loading newer files' in README.md)"
FUTURE = "a period in the future is a mistyped or stray row"


@dataclass(frozen=True)
class Bad:
    """A mutated file and exactly what the command must say about it."""

    path: Path
    line: int
    column: int
    column_name: str
    message: str
    options: tuple[str, ...] = ()

    def stderr(self) -> str:
        name = f" ({self.column_name})" if self.column_name else ""
        return (f"borderstats: {self.path}: line {self.line}, column {self.column}{name}: "
                f"{self.message} (nothing was loaded)\n")


def official_lines(data: Path, name: str) -> tuple[list[str], str]:
    """The file's lines without endings, and its line ending."""
    raw = (data / name).read_bytes().decode("utf-8")
    return raw.splitlines(), "\r\n" if "\r\n" in raw else "\n"


def write(tmp: Path, name: str, lines: list[str], end: str, *, final_newline: bool = True) -> Path:
    path = tmp / name
    path.write_bytes((end.join(lines) + (end if final_newline else "")).encode("utf-8"))
    return path


def changed(data: Path, tmp: Path, name: str, line: int, column: int, value: str) -> Path:
    """A copy of `name` with field `column` (1-based) of line `line` (1-based) set to `value`."""
    lines, end = official_lines(data, name)
    fields = lines[line - 1].split(",")
    fields[column - 1] = value
    lines[line - 1] = ",".join(fields)
    return write(tmp, name, lines, end)


# --- the cases -------------------------------------------------------------------------------------

def _future_row_in_old_release(data: Path, tmp: Path) -> Bad:
    """The issue's hijack: a copy of a row dated FY2100 makes the old file look newest."""
    lines, end = official_lines(data, SW_OLD)
    assert lines[1].startswith("2019,FYTD,AUG,")
    path = write(tmp, SW_OLD, [*lines, "2100" + lines[1][4:]], end)
    return Bad(path, len(lines) + 1, 1, "Fiscal Year",
               f"period 2100-08 is after 2026-02, the month after today's (2026-01-15): {FUTURE}")


def _future_month_of_the_running_year(data: Path, tmp: Path) -> Bad:
    lines, end = official_lines(data, SW_NEW)
    fields = lines[1].split(",")
    fields[0], fields[2] = "2026 (FYTD)", "MAR"  # March 2026: past the one-month margin
    path = write(tmp, SW_NEW, [*lines, ",".join(fields)], end)
    return Bad(path, len(lines) + 1, 3, "Month (abbv)",
               f"period 2026-03 is after 2026-02, the month after today's (2026-01-15): {FUTURE}")


def _stray_year_far_before_the_file(data: Path, tmp: Path) -> Bad:
    lines, _ = official_lines(data, SEIZURES)
    assert lines[7].split(",")[1] == "APR"
    path = changed(data, tmp, SEIZURES, 8, 1, "1995")
    # April 1995 to October 2018 (the file's first month): 23 years and 6 months.
    return Bad(path, 8, 1, "FY", "period 1995-04 is 282 months away from the rest of the file "
               "(2018-10..2022-09): a period far outside the file's span is a mistyped or stray row")


def _unknown_state_code(data: Path, tmp: Path) -> Bad:
    path = changed(data, tmp, STATE_ENCOUNTERS, 6, 5, "XX")
    return Bad(path, 6, 5, "State", "unknown state code 'XX'; did you mean 'TX'? (run with "
               "--allow-new-areas to accept codes seed/states.json lacks)")


def _unknown_area(data: Path, tmp: Path) -> Bad:
    lines, _ = official_lines(data, SEIZURES)
    row = next(i for i, line in enumerate(lines, 1) if ",SAN DIEGO FIELD OFFICE," in line)
    path = changed(data, tmp, SEIZURES, row, 6, "SAN DEIGO FIELD OFFICE")
    return Bad(path, row, 6, "Area of Responsibility",
               "unknown area of responsibility 'San Deigo Field Office'; did you mean "
               "'San Diego Field Office'? (run with --allow-new-areas to add it)")


def _unknown_drug(data: Path, tmp: Path) -> Bad:
    lines, _ = official_lines(data, SEIZURES)
    row = next(i for i, line in enumerate(lines, 1) if ",Fentanyl," in line)
    path = changed(data, tmp, SEIZURES, row, 7, "Fentanil")
    return Bad(path, row, 7, "Drug Type", "unknown drug type 'Fentanil'; did you mean 'Fentanyl'? "
               "(run with --allow-new-drugs to add it)")


def _huge_quantity(data: Path, tmp: Path) -> Bad:
    path = changed(data, tmp, SEIZURES, 8, 9, "1e308")
    return Bad(path, 8, 9, "Sum Qty (lbs)", f"quantity (lbs) 1e+308 is above 10,000,000, {SEE_README}")


def _float_overflow(data: Path, tmp: Path) -> Bad:
    path = changed(data, tmp, SEIZURES, 8, 9, "1e309")
    return Bad(path, 8, 9, "Sum Qty (lbs)", "quantity '1e309' is not a non-negative finite number")


def _three_billion_encounters(data: Path, tmp: Path) -> Bad:
    path = changed(data, tmp, SW_NEW, 10, 9, "3000000000")
    return Bad(path, 10, 9, "Encounter Count",
               f"encounter count 3,000,000,000 is above 1,000,000, {SEE_README}")


def _cdc_year_1900(data: Path, tmp: Path) -> Bad:
    path = changed(data, tmp, STATE_DEATHS, 4, 1, "1900")
    return Bad(path, 4, 1, "YEAR", "year 1900 is before 1968, the first year of CDC's national "
               "mortality files by cause")


def _cut_inside_the_last_number(data: Path, tmp: Path) -> Bad:
    lines, end = official_lines(data, SW_NEW)
    count = lines[-1].rsplit(",", 1)[1]
    assert len(count) >= 2
    lines[-1] = lines[-1][:-1]  # the download stopped one digit short, before the line ending
    path = write(tmp, SW_NEW, lines, end, final_newline=False)
    return Bad(path, len(lines), 9, "Encounter Count",
               f"the last line has no line ending, so its last field '{count[:-1]}' may be cut short "
               "(official files end every line with one); download the file again, or end the line "
               "if it is complete")


def _nul_byte_in_a_field(data: Path, tmp: Path) -> Bad:
    lines, end = official_lines(data, SW_NEW)
    fields = lines[9].split(",")
    fields[5] = fields[5][:2] + "\x00" + fields[5][2:]
    lines[9] = ",".join(fields)
    path = write(tmp, SW_NEW, lines, end)
    offset = path.read_bytes().index(b"\x00")
    return Bad(path, 10, 6, "Citizenship Grouping",
               f"NUL byte (0x00) at byte {offset:,}: the file is not CSV text")


def _one_megabyte_field(data: Path, tmp: Path) -> Bad:
    path = changed(data, tmp, SEIZURES, 8, 6, "A" * 1_048_576)
    return Bad(path, 8, 6, "Area of Responsibility",
               "area of responsibility is 1,048,576 characters long; at most 51 are accepted")


def _larger_than_the_limit(data: Path, tmp: Path) -> Bad:
    lines, end = official_lines(data, STATE_ENCOUNTERS)
    path = write(tmp, STATE_ENCOUNTERS, lines, end)
    first_megabyte = path.read_bytes()[:1_000_000]
    line = first_megabyte.count(b"\n") + 1
    column = first_megabyte.rsplit(b"\n", 1)[1].count(b",") + 1
    return Bad(path, line, column, "", "the file is larger than 1 MB, the limit "
               "(BORDERSTATS_MAX_FILE_MB or --max-file-mb); official files are a few MB",
               options=("--max-file-mb", "1"))


CASES: dict[str, Callable[[Path, Path], Bad]] = {
    "future-row-hijacks-revisions": _future_row_in_old_release,
    "future-month-of-the-running-year": _future_month_of_the_running_year,
    "stray-year-far-before-the-file": _stray_year_far_before_the_file,
    "unknown-state-code": _unknown_state_code,
    "unknown-area-name": _unknown_area,
    "unknown-drug-type": _unknown_drug,
    "quantity-1e308": _huge_quantity,
    "float-overflow-1e309": _float_overflow,
    "count-3-billion": _three_billion_encounters,
    "cdc-year-1900": _cdc_year_1900,
    "cut-inside-last-number": _cut_inside_the_last_number,
    "nul-byte-in-a-field": _nul_byte_in_a_field,
    "one-megabyte-field": _one_megabyte_field,
    "larger-than-the-size-limit": _larger_than_the_limit,
}


@pytest.fixture
def on_today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """The ingest runs on TODAY, whatever the system date."""
    monkeypatch.setattr(plausible, "today", lambda: TODAY)
    return TODAY


@pytest.fixture
def run_ingest(database_url: str, monkeypatch: pytest.MonkeyPatch):
    """run_ingest(*args): `borderstats ingest --quiet *args` in process against database_url."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("BORDERSTATS_MAX_FILE_MB", "BORDERSTATS_SQLITE_PATH"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str):
        config.get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli, ["ingest", "--quiet", *map(str, args)])
        finally:
            config.get_settings.cache_clear()

    return run


@pytest.fixture
def preloaded(empty_engine, data_dir):
    """A database that already holds one release, so "unchanged" is not trivially "empty"."""
    ingest_paths(empty_engine, [str(data_dir / US_DEATHS)])
    return empty_engine


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_mutated_official_file_is_refused_in_one_line_and_nothing_is_written(
        case, preloaded, data_dir, tmp_path, db_state, run_ingest, on_today):
    bad = CASES[case](data_dir, tmp_path)
    before = db_state(preloaded)
    result = run_ingest(*bad.options, *(data_dir / g for g in GOOD), bad.path)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == bad.stderr()
    assert db_state(preloaded) == before


def test_dev_zero_is_refused_at_once_by_the_real_command(database_url, empty_engine, run_cli,
                                                         data_dir, db_state):
    """A real process reading /dev/zero stops at its first byte instead of filling memory."""
    before = db_state(empty_engine)
    result = run_cli(["ingest", "--quiet", data_dir / STATE_DEATHS, "/dev/zero"],
                     database_url=database_url, timeout=60)
    assert result.returncode == 1
    assert result.stderr == ("borderstats: /dev/zero: line 1, column 1: NUL byte (0x00) at byte 0: "
                             "the file is not CSV text (nothing was loaded)\n")
    assert db_state(empty_engine) == before


def test_size_limit_setting_applies_to_the_real_command(database_url, empty_engine, run_cli,
                                                        data_dir, db_state):
    """BORDERSTATS_MAX_FILE_MB=0.001: the 197-byte file loads, the 8,840-byte one is refused."""
    result = run_cli(["ingest", "--quiet", data_dir / US_DEATHS], database_url=database_url)
    assert result.returncode == 0, result.stderr
    loaded = db_state(empty_engine)
    env = {**cli_env(database_url), "BORDERSTATS_MAX_FILE_MB": "0.001"}
    path = data_dir / STATE_DEATHS
    refused = subprocess.run([*borderstats_command(), "ingest", "--quiet", str(path)],
                             env=env, capture_output=True, text=True, timeout=60)
    first_kilobyte = path.read_bytes()[:1000]
    line = first_kilobyte.count(b"\n") + 1
    column = first_kilobyte.rsplit(b"\n", 1)[1].count(b",") + 1
    assert refused.returncode == 1
    assert refused.stderr == (
        f"borderstats: {path}: line {line}, column {column}: the file is larger than 0.001 MB, the "
        "limit (BORDERSTATS_MAX_FILE_MB or --max-file-mb); official files are a few MB "
        "(nothing was loaded)\n")
    assert db_state(empty_engine) == loaded


# --- what the flags and the margin accept ----------------------------------------------------------

def test_new_areas_codes_and_drugs_load_when_allowed(empty_engine, data_dir, tmp_path, run_ingest,
                                                     on_today):
    folders = [tmp_path / name for name in ("state", "area", "drug")]
    for folder in folders:
        folder.mkdir()
    state = _unknown_state_code(data_dir, folders[0])
    area = _unknown_area(data_dir, folders[1])
    drug = _unknown_drug(data_dir, folders[2])
    refused = run_ingest("--allow-new-areas", drug.path)  # new areas allowed, not new drugs
    assert refused.exit_code == 1
    assert refused.stderr == drug.stderr()
    result = run_ingest("--allow-new-areas", "--allow-new-drugs", state.path, area.path, drug.path)
    assert result.exit_code == 0, result.output
    with empty_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Encounter)
                            .where(Encounter.state == "XX")).scalar_one() == 1
        assert conn.scalar(select(Area.note).where(Area.name == "San Deigo Field Office")) == \
            "Added by ingest: not in seed/areas.json."
        assert conn.scalar(select(Drug.slug).where(Drug.source_name == "Fentanil")) == "fentanil"


def test_the_month_after_todays_is_accepted(empty_engine, data_dir, tmp_path, run_ingest, on_today):
    lines, end = official_lines(data_dir, SW_NEW)
    fields = lines[1].split(",")
    fields[0], fields[2], fields[8] = "2026 (FYTD)", "FEB", "7"
    path = write(tmp_path, SW_NEW, [*lines, ",".join(fields)], end)
    result = run_ingest(path)
    assert result.exit_code == 0, result.output
    assert "2021-10..2026-02" in result.stdout
