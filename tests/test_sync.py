"""`borderstats sync` against a local stand-in for the agencies' sites, on SQLite and Postgres.

Pages are built here; the files are the official ones from ../shared/data, served under the names
the agencies give them. Expected figures come from the CSV files (csv module), not from the loader.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select
from sync_server import Agency, AgencyServer, failing, local_manifest, redirect, slow
from werkzeug import Response

from app.ingest.fetch import FetchPolicy
from app.ingest.sources import load_manifest
from app.ingest.sync import SyncReport, sync
from app.models import Release, ReleasePeriod, SyncState

SW_OLD = ("cbp-sw-encounters-fy19-fy22.csv",
          "/sites/default/files/assets/documents/2022-Oct/sbo-encounters-fy19-fy22.csv")
SW_NEW = ("cbp-sw-encounters-fy22-fy25-aug.csv",
          "/sites/default/files/2025-09/sbo-encounters-fy22-fy25-aug.csv")
SEIZURES = ("cbp-drug-seizures-fy23-fy26-dec.csv",
            "/sites/default/files/2026-01/nationwide-drugs-fy23-fy26-dec.csv")
SW_PAGE, SEIZURE_PAGE = "/document/cbp-sw-encounters", "/document/cbp-seizures"
MONTHS = ("OCT", "NOV", "DEC", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP")


# --- oracle: the Southwest encounter files read with the csv module -----------------------------

def sw_cells(path: Path) -> dict[dt.date, dict[tuple, int]]:
    """month -> {(component, demographic, citizenship, title, type): count} of one release."""
    cells: dict[dt.date, dict[tuple, int]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            position = MONTHS.index(row["Month (abbv)"].upper())
            month = (position + 9) % 12 + 1
            fiscal_year = int(row["Fiscal Year"][:4])
            period = dt.date(fiscal_year - 1 if month >= 10 else fiscal_year, month, 1)
            # The unaccompanied-children label differs between the two releases.
            key = (row["Component"], row["Demographic"].replace("UC / Single Minors", "UAC"),
                   row["Citizenship Grouping"].upper(), row["Title of Authority"],
                   row["Encounter Type"])
            cells.setdefault(period, {})[key] = int(float(row["Encounter Count"]))
    return cells


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def agency():
    server = AgencyServer(threaded=True)  # threaded: a slow answer does not hold up the next request
    server.start()
    yield Agency(server)
    server.clear()
    server.stop()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def policy(waits):
    """Tiny backoff; waits are recorded instead of slept, so retries cost no time."""
    return FetchPolicy(user_agent="borderstats-sync/test", timeout_seconds=5, attempts=3,
                       backoff_seconds=0.01, max_wait_seconds=2.0, max_bytes=20 * 1024 * 1024,
                       sleep=waits.append)


@pytest.fixture
def work_dir(tmp_path, monkeypatch) -> Path:
    """Where sync puts its temporary downloads during the test (must be empty afterwards)."""
    path = tmp_path / "work"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def official(data_dir: Path, name: str) -> bytes:
    return (data_dir / name).read_bytes()


def publish_sw(agency: Agency, data_dir: Path, *releases: tuple[str, str], **validators: str):
    agency.page(SW_PAGE, [href for _, href in releases])
    for name, href in releases:
        agency.file(href, official(data_dir, name), **validators)


def run(engine, agency: Agency, tmp_path: Path, policy: FetchPolicy, families: list[str],
        *, dry_run: bool = False) -> SyncReport:
    manifest = local_manifest(agency, tmp_path, families)
    return sync(engine, load_manifest(manifest), policy=policy, dry_run=dry_run, manifest=manifest)


def outcome(report: SyncReport, family: str):
    return next(o for o in report.outcomes if o.source.family == family)


def state(engine, family: str) -> SyncState | None:
    with engine.connect() as conn:
        row = conn.execute(select(SyncState.__table__).where(SyncState.family == family)).mappings()
        found = row.one_or_none()
    return SyncState(**found) if found else None


def releases(engine) -> dict[str, int]:
    """file name -> release id of the official files loaded (not the NCHS reference figures)."""
    with engine.connect() as conn:
        return {name: release_id for release_id, name in conn.execute(
            select(Release.id, Release.file_name).where(Release.dataset != "overdose_deaths"))}


# --- a new release ---------------------------------------------------------------------------------

def test_new_release_is_ingested_and_its_revisions_recorded(empty_engine, agency, tmp_path, policy,
                                                           data_dir, work_dir):
    old, new = sw_cells(data_dir / SW_OLD[0]), sw_cells(data_dir / SW_NEW[0])
    publish_sw(agency, data_dir, SW_OLD)
    first = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert first.lines() == [
        f"cbp-sw-encounters: sbo-encounters-fy19-fy22.csv: new release 1, 2018-10..2022-09 "
        f"(months {len(old)} new, 0 revised, 0 unchanged, 0 superseded)"]

    # CBP publishes the next window; the page still lists the old one, above the new one.
    publish_sw(agency, data_dir, SW_OLD, SW_NEW)
    second = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    expected = {month: "new" if month not in old else
                ("unchanged" if old[month] == cells else "revised")
                for month, cells in new.items()}
    counts = {s: sum(1 for v in expected.values() if v == s) for s in ("new", "revised", "unchanged")}
    assert counts["revised"] > 0 and counts["new"] > 0
    loaded = releases(empty_engine)
    assert set(loaded) == {"sbo-encounters-fy19-fy22.csv", "sbo-encounters-fy22-fy25-aug.csv"}
    new_id = loaded["sbo-encounters-fy22-fy25-aug.csv"]
    assert second.lines() == [
        f"cbp-sw-encounters: sbo-encounters-fy22-fy25-aug.csv: new release {new_id}, "
        f"{min(new):%Y-%m}..{max(new):%Y-%m} (months {counts['new']} new, {counts['revised']} "
        f"revised, {counts['unchanged']} unchanged, 0 superseded)"]
    with empty_engine.connect() as conn:
        recorded = dict(conn.execute(select(ReleasePeriod.period, ReleasePeriod.status)
                                     .where(ReleasePeriod.release_id == new_id)).all())
        old_current = set(conn.execute(select(ReleasePeriod.period).where(
            ReleasePeriod.release_id == 1, ReleasePeriod.is_current.is_(True))).scalars())
    assert recorded == expected
    assert old_current == set(old) - set(new)  # the overlapping months now come from release 2
    saved = state(empty_engine, "cbp-sw-encounters")
    assert (saved.last_outcome, saved.last_release_id, saved.file_url, saved.sha256) == (
        "new", new_id, agency.url(SW_NEW[1]), hashlib.sha256(official(data_dir, SW_NEW[0])).hexdigest())
    assert saved.last_error is None and saved.last_success_at is not None
    assert [path for path, _, _ in agency.requests] == [SW_PAGE, SW_OLD[1], SW_PAGE, SW_NEW[1]]
    assert all(h["User-Agent"] == "borderstats-sync/test" for _, h, _ in agency.requests)
    assert list(work_dir.iterdir()) == []


def test_same_file_again_changes_nothing(empty_engine, agency, tmp_path, policy, data_dir, db_state):
    publish_sw(agency, data_dir, SW_OLD)  # no ETag or Last-Modified: the file is downloaded again
    run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    before = db_state(empty_engine)
    again = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    digest = hashlib.sha256(official(data_dir, SW_OLD[0])).hexdigest()
    assert again.lines() == [f"cbp-sw-encounters: sbo-encounters-fy19-fy22.csv: already loaded as "
                             f"release 1 (sha256 {digest[:12]}…)"]
    assert not again.failed
    assert db_state(empty_engine) == before
    assert agency.statuses(SW_OLD[1]) == [200, 200]
    assert state(empty_engine, "cbp-sw-encounters").last_outcome == "already_loaded"


# --- conditional GET -----------------------------------------------------------------------------

def test_page_not_modified_downloads_nothing(empty_engine, agency, tmp_path, policy, data_dir,
                                            db_state):
    publish_sw(agency, data_dir, SW_OLD)
    agency.page(SW_PAGE, [SW_OLD[1]], etag='"page-v1"')
    run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    first_success = state(empty_engine, "cbp-sw-encounters").last_success_at
    before = db_state(empty_engine)
    again = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert again.lines() == ["cbp-sw-encounters: unchanged (page 304 Not Modified)"]
    assert agency.statuses(SW_PAGE) == [200, 304]
    assert agency.requests[-1][1]["If-None-Match"] == '"page-v1"'
    assert agency.hits[SW_OLD[1]] == 1
    assert db_state(empty_engine) == before
    saved = state(empty_engine, "cbp-sw-encounters")
    assert (saved.last_outcome, saved.page_etag, saved.last_release_id) == ("unchanged", '"page-v1"', 1)
    assert saved.last_success_at > first_success


def test_file_not_modified_is_not_downloaded_again(empty_engine, agency, tmp_path, policy, data_dir,
                                                   db_state):
    modified = "Wed, 01 Oct 2025 12:00:00 GMT"
    publish_sw(agency, data_dir, SW_OLD, last_modified=modified)
    run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    before = db_state(empty_engine)
    again = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert again.lines() == ["cbp-sw-encounters: sbo-encounters-fy19-fy22.csv: unchanged (304 Not Modified)"]
    assert agency.statuses(SW_OLD[1]) == [200, 304]
    assert agency.requests[-1][1]["If-Modified-Since"] == modified
    assert db_state(empty_engine) == before


# --- failures --------------------------------------------------------------------------------------

def test_changed_page_layout_fails_that_source_only(empty_engine, agency, tmp_path, policy, data_dir):
    publish_sw(agency, data_dir, SW_OLD)
    agency.page(SEIZURE_PAGE, ["/sites/default/files/2026-01/drug-seizures-2026-january.csv"])
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-seizures", "cbp-sw-encounters"])
    seizures = outcome(report, "cbp-seizures")
    assert seizures.failed and report.failed
    assert seizures.line().startswith(f"cbp-seizures: error: no link on {agency.url(SEIZURE_PAGE)} "
                                      f"matches (?i)/sites/default/files/")
    assert "nationwide-drugs-fy(?P<first_fy>\\d{2})" in seizures.line()
    assert seizures.line().endswith(" (3 links on the page); the page layout may have changed: "
                                    f"correct page_url or link_pattern of 'cbp-seizures' in "
                                    f"{tmp_path / 'sources.json'}")
    assert outcome(report, "cbp-sw-encounters").status == "new"
    assert releases(empty_engine) == {"sbo-encounters-fy19-fy22.csv": 1}
    saved = state(empty_engine, "cbp-seizures")
    assert (saved.last_outcome, saved.last_success_at, saved.file_url) == ("error", None, None)
    assert saved.last_error == seizures.line() and saved.last_failure_at is not None


def test_server_errors_are_retried_until_the_page_answers(empty_engine, agency, tmp_path, policy,
                                                         data_dir, waits):
    publish_sw(agency, data_dir, SW_OLD)
    agency.routes[SW_PAGE] = failing(503, 2, then=agency.routes[SW_PAGE])
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert outcome(report, "cbp-sw-encounters").status == "new"
    assert agency.statuses(SW_PAGE) == [503, 503, 200]
    assert len(waits) == 2 and 0.005 <= waits[0] <= 0.01 and 0.01 <= waits[1] <= 0.02


def test_persistent_server_errors_end_in_an_error_after_every_attempt(
        empty_engine, agency, tmp_path, policy, data_dir, db_state, waits):
    publish_sw(agency, data_dir, SW_OLD)
    agency.routes[SW_OLD[1]] = failing(500, 3)
    before = db_state(empty_engine)
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert report.lines() == [f"cbp-sw-encounters: error: HTTP 500 from {agency.url(SW_OLD[1])} "
                              f"(3 attempts)"]
    assert agency.hits[SW_OLD[1]] == 3 and len(waits) == 2
    assert db_state(empty_engine) == before


def test_too_many_requests_waits_as_long_as_retry_after_asks(empty_engine, agency, tmp_path, policy,
                                                             data_dir, waits):
    publish_sw(agency, data_dir, SW_OLD)
    agency.routes[SW_OLD[1]] = failing(429, 1, then=agency.routes[SW_OLD[1]],
                                       headers={"Retry-After": "1"})
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert outcome(report, "cbp-sw-encounters").status == "new"
    assert waits == [1.0]


def test_a_missing_file_is_not_retried(empty_engine, agency, tmp_path, policy, data_dir):
    publish_sw(agency, data_dir, SW_OLD)
    del agency.routes[SW_OLD[1]]
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert report.lines() == [f"cbp-sw-encounters: error: HTTP 404 from {agency.url(SW_OLD[1])}"]
    assert agency.hits[SW_OLD[1]] == 1


def test_timeouts_are_retried_then_an_error(empty_engine, agency, tmp_path, data_dir, db_state,
                                            waits, work_dir):
    quick = FetchPolicy(user_agent="borderstats-sync/test", timeout_seconds=0.3, attempts=3,
                        backoff_seconds=0.01, sleep=waits.append)
    publish_sw(agency, data_dir, SW_OLD)
    agency.routes[SW_OLD[1]] = slow(1.5)
    before = db_state(empty_engine)
    report = run(empty_engine, agency, tmp_path, quick, ["cbp-sw-encounters"])
    assert report.lines() == [f"cbp-sw-encounters: error: timed out from {agency.url(SW_OLD[1])} "
                              f"(3 attempts)"]
    assert agency.hits[SW_OLD[1]] == 3
    assert db_state(empty_engine) == before
    assert list(work_dir.iterdir()) == []


def test_a_truncated_download_is_rejected_and_nothing_written(empty_engine, agency, tmp_path, policy,
                                                              data_dir, db_state, work_dir):
    data = official(data_dir, SW_OLD[0])
    publish_sw(agency, data_dir, SW_OLD)
    # The connection drops after half the file, although Content-Length announced all of it.
    agency.routes[SW_OLD[1]] = lambda request: Response(
        iter([data[: len(data) // 2]]), content_type="text/csv",
        headers={"Content-Length": str(len(data))})
    before = db_state(empty_engine)
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert report.lines() == [
        f"cbp-sw-encounters: error: connection broken (peer closed connection without sending "
        f"complete message body (received {len(data) // 2} bytes, expected {len(data)})) from "
        f"{agency.url(SW_OLD[1])} (3 attempts)"]
    assert agency.hits[SW_OLD[1]] == 3
    assert db_state(empty_engine) == before
    assert list(work_dir.iterdir()) == []


def test_a_cut_file_is_rejected_by_the_ingest_and_the_other_sources_load(
        empty_engine, agency, tmp_path, policy, data_dir, work_dir):
    data = official(data_dir, SEIZURES[0])
    cut = data[: len(data) // 3]  # a complete HTTP answer whose CSV stops mid-line
    cut_line = cut.count(b"\n") + 1
    publish_sw(agency, data_dir, SW_OLD)
    agency.page(SEIZURE_PAGE, [SEIZURES[1]])
    agency.file(SEIZURES[1], cut)
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-seizures", "cbp-sw-encounters"])
    line = outcome(report, "cbp-seizures").line()
    assert line.startswith("cbp-seizures: error: rejected by the ingest: ")
    assert f"nationwide-drugs-fy23-fy26-dec.csv: line {cut_line}, column " in line
    assert outcome(report, "cbp-sw-encounters").status == "new"
    assert releases(empty_engine) == {"sbo-encounters-fy19-fy22.csv": 1}
    assert state(empty_engine, "cbp-seizures").sha256 is None
    assert list(work_dir.iterdir()) == []


def test_a_download_over_the_size_limit_is_refused(empty_engine, agency, tmp_path, data_dir,
                                                   db_state):
    small = FetchPolicy(user_agent="borderstats-sync/test", attempts=3, backoff_seconds=0.01,
                        max_bytes=100_000, sleep=lambda seconds: None)
    publish_sw(agency, data_dir, SW_OLD)
    size = len(official(data_dir, SW_OLD[0]))
    before = db_state(empty_engine)
    report = run(empty_engine, agency, tmp_path, small, ["cbp-sw-encounters"])
    assert report.lines() == [f"cbp-sw-encounters: error: {agency.url(SW_OLD[1])} is {size:,} bytes, "
                              f"over the limit of 100,000"]
    assert agency.hits[SW_OLD[1]] == 1
    assert db_state(empty_engine) == before


# --- redirects and dry runs ------------------------------------------------------------------------

def test_redirects_of_the_page_and_the_file_are_followed(empty_engine, agency, tmp_path, policy,
                                                         data_dir):
    publish_sw(agency, data_dir, SW_OLD)
    agency.routes["/stats/moved"] = agency.routes.pop(SW_PAGE)
    agency.routes[SW_PAGE] = redirect(agency.url("/stats/moved"), status=301)
    agency.routes["/mirror/file.csv"] = agency.routes.pop(SW_OLD[1])
    agency.routes[SW_OLD[1]] = redirect("/mirror/file.csv", status=302)
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert outcome(report, "cbp-sw-encounters").status == "new"
    assert [(p, s) for p, _, s in agency.requests] == [
        (SW_PAGE, 301), ("/stats/moved", 200), (SW_OLD[1], 302), ("/mirror/file.csv", 200)]
    assert releases(empty_engine) == {"sbo-encounters-fy19-fy22.csv": 1}


def test_a_redirect_loop_is_an_error(empty_engine, agency, tmp_path, policy):
    agency.routes[SW_PAGE] = redirect(SW_PAGE)
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert report.lines() == [f"cbp-sw-encounters: error: more than 5 redirects from "
                              f"{agency.url(SW_PAGE)}"]
    assert agency.hits[SW_PAGE] == 6


def test_dry_run_says_what_it_would_fetch_and_writes_nothing(empty_engine, agency, tmp_path, policy,
                                                             data_dir, db_state):
    publish_sw(agency, data_dir, SW_OLD, SW_NEW)
    before = db_state(empty_engine)
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"], dry_run=True)
    assert report.lines() == [f"cbp-sw-encounters: sbo-encounters-fy22-fy25-aug.csv: would download "
                              f"{agency.url(SW_NEW[1])} (new link; through 2025-08)"]
    assert agency.hits[SW_NEW[1]] == agency.hits[SW_OLD[1]] == 0
    assert db_state(empty_engine) == before
    assert state(empty_engine, "cbp-sw-encounters") is None


def test_one_source_linking_a_file_of_another_family_is_reported(empty_engine, agency, tmp_path,
                                                                 policy, data_dir):
    agency.page(SW_PAGE, [SW_OLD[1]])
    agency.file(SW_OLD[1], official(data_dir, "cdc-overdose-deaths-us-2011-2021.csv"))
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    assert report.lines() == [
        f"cbp-sw-encounters: error: {agency.url(SW_OLD[1])} is a cdc-us-deaths file, not "
        f"cbp-sw-encounters; it was loaded as release 1: correct link_pattern of 'cbp-sw-encounters'"]


def test_sync_state_keeps_the_last_success_when_a_later_attempt_fails(empty_engine, agency, tmp_path,
                                                                      policy, data_dir):
    publish_sw(agency, data_dir, SW_OLD, etag='"v1"')
    run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    good = state(empty_engine, "cbp-sw-encounters")
    agency.routes[SW_PAGE] = failing(502, 3)
    run(empty_engine, agency, tmp_path, policy, ["cbp-sw-encounters"])
    failed = state(empty_engine, "cbp-sw-encounters")
    assert (failed.last_outcome, failed.last_success_at, failed.file_etag, failed.last_release_id) == (
        "error", good.last_success_at, '"v1"', 1)
    assert failed.last_error == (f"cbp-sw-encounters: error: HTTP 502 from {agency.url(SW_PAGE)} "
                                 f"(3 attempts)")
    assert failed.last_failure_at >= failed.last_attempt_at >= good.last_attempt_at


def test_two_new_files_load_in_one_command(empty_engine, agency, tmp_path, policy, data_dir):
    publish_sw(agency, data_dir, SW_OLD)
    agency.page(SEIZURE_PAGE, [SEIZURES[1]])
    agency.file(SEIZURES[1], official(data_dir, SEIZURES[0]))
    report = run(empty_engine, agency, tmp_path, policy, ["cbp-seizures", "cbp-sw-encounters"])
    assert [o.status for o in report.outcomes] == ["new", "new"]
    with empty_engine.connect() as conn:
        rows = conn.execute(select(Release.source, Release.row_count).where(
            Release.dataset != "overdose_deaths").order_by(Release.id)).all()
    expected_rows = [sum(1 for _ in csv.DictReader(io.StringIO(official(data_dir, n).decode())))
                     for n in (SEIZURES[0], SW_OLD[0])]
    assert rows == [("cbp-seizures", expected_rows[0]), ("cbp-sw-encounters", expected_rows[1])]


def test_the_ohss_workbook_is_found_downloaded_and_named_as_published(empty_engine, agency, tmp_path,
                                                                      policy, data_dir):
    href = "/sites/default/files/2025-01/KHSM%20Encounters%20%28USBP%29%20fy25m11.xlsx"
    agency.page("/document/ohss-sector-encounters", [
        "/sites/default/files/2024-08/KHSM%20Encounters%20%28USBP%29%20fy24m07.xlsx", href])
    agency.routes[href.replace("%20", " ").replace("%28", "(").replace("%29", ")")] = (
        lambda request: Response(official(data_dir, "ohss-usbp-encounters-fy25m11.xlsx"),
                                 content_type="application/vnd.openxmlformats-officedocument"
                                              ".spreadsheetml.sheet"))
    report = run(empty_engine, agency, tmp_path, policy, ["ohss-sector-encounters"])
    with (data_dir / "ohss-usbp-encounters-monthly-sector.csv").open(newline="") as handle:
        sheet_rows = sum(1 for _ in csv.DictReader(handle))  # the sheet, exported to CSV
    assert outcome(report, "ohss-sector-encounters").status == "new", report.lines()
    with empty_engine.connect() as conn:
        loaded = conn.execute(select(Release.file_name, Release.row_count, Release.period_end)
                              .where(Release.source == "ohss-sector-encounters")).one()
    assert tuple(loaded) == ("KHSM Encounters (USBP) fy25m11.xlsx", sheet_rows, dt.date(2024, 11, 1))
