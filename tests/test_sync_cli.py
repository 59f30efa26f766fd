"""`borderstats sync` on the command line: one line per source, exit codes like ingest."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import borderstats_command
from sync_server import SHIPPED_MANIFEST, Agency, AgencyServer, local_manifest
from typer.testing import CliRunner

from app.config import get_settings
from app.db import database_urls, make_sync_engine
from app.ops.cli import cli

SW_NAME, SW_HREF = ("cbp-sw-encounters-fy19-fy22.csv",
                    "/sites/default/files/assets/documents/2022-Oct/sbo-encounters-fy19-fy22.csv")
SW_PAGE, SEIZURE_PAGE = "/document/cbp-sw-encounters", "/document/cbp-seizures"


@pytest.fixture
def agency():
    server = AgencyServer(threaded=True)
    server.start()
    yield Agency(server)
    server.clear()
    server.stop()


@pytest.fixture
def invoke(monkeypatch):
    """invoke(args, database_url=...): run the command in-process with a clean environment."""

    def run(args: list[str], *, database_url: str | None):
        for name in list(os.environ):
            if name.startswith("BORDERSTATS_") or name == "DATABASE_URL":
                monkeypatch.delenv(name)
        if database_url:
            monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("BORDERSTATS_SYNC_ATTEMPTS", "1")
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli, ["sync", *args])
        finally:
            get_settings.cache_clear()

    return run


def with_disabled_family(manifest: Path) -> Path:
    document = json.loads(manifest.read_text())
    shipped = json.loads(SHIPPED_MANIFEST.read_text())["sources"]
    document["sources"].append(next(e for e in shipped if e["family"] == "cdc-state-deaths"))
    manifest.write_text(json.dumps(document))
    return manifest


def publish(agency: Agency, data_dir: Path) -> None:
    agency.page(SW_PAGE, [SW_HREF])
    agency.file(SW_HREF, (data_dir / SW_NAME).read_bytes())


def test_sync_prints_one_line_per_source_and_exits_0(invoke, agency, database_url, data_dir,
                                                     tmp_path):
    publish(agency, data_dir)
    manifest = with_disabled_family(local_manifest(agency, tmp_path, ["cbp-sw-encounters"]))
    first = invoke(["--manifest", str(manifest)], database_url=database_url)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].startswith("cbp-sw-encounters: sbo-encounters-fy19-fy22.csv: new release 1, "
                               "2018-10..2022-09 (months 48 new, 0 revised")
    assert lines[1].startswith("cdc-state-deaths: disabled: The CDC state map page")
    assert lines[2].startswith("2 source(s), 0 failed, in ") and len(lines) == 3
    again = invoke(["--manifest", str(manifest)], database_url=database_url)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0].startswith(
        "cbp-sw-encounters: sbo-encounters-fy19-fy22.csv: already loaded as release 1 (sha256 ")


def test_sync_exits_1_when_a_source_fails_and_loads_the_others(invoke, agency, database_url,
                                                               data_dir, tmp_path):
    publish(agency, data_dir)
    agency.page(SEIZURE_PAGE, ["/files/seizures-latest.csv"])
    manifest = local_manifest(agency, tmp_path, ["cbp-seizures", "cbp-sw-encounters"])
    result = invoke(["--manifest", str(manifest)], database_url=database_url)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"cbp-seizures: error: no link on {agency.url(SEIZURE_PAGE)} matches ")
    assert f"correct page_url or link_pattern of 'cbp-seizures' in {manifest}" in lines[0]
    assert lines[1].startswith("cbp-sw-encounters: sbo-encounters-fy19-fy22.csv: new release 1, ")
    assert lines[2].startswith("2 source(s), 1 failed, in ")


def test_sync_dataset_option_limits_the_sources(invoke, agency, database_url, data_dir, tmp_path):
    publish(agency, data_dir)
    manifest = local_manifest(agency, tmp_path, ["cbp-seizures", "cbp-sw-encounters"])
    result = invoke(["--manifest", str(manifest), "--dataset", "encounters"],
                    database_url=database_url)
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()[:-1]] == ["cbp-sw-encounters"]
    assert agency.hits[SEIZURE_PAGE] == 0


def test_sync_dry_run_writes_nothing(invoke, agency, database_url, data_dir, tmp_path, db_state):
    publish(agency, data_dir)
    manifest = local_manifest(agency, tmp_path, ["cbp-sw-encounters"])
    engine = make_sync_engine(database_urls(database_url))
    before = db_state(engine)
    result = invoke(["--manifest", str(manifest), "--dry-run"], database_url=database_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        f"cbp-sw-encounters: sbo-encounters-fy19-fy22.csv: would download {agency.url(SW_HREF)} "
        f"(new link; through 2022-09)")
    assert result.stdout.splitlines()[1].endswith(" s (dry run)")
    assert db_state(engine) == before and agency.hits[SW_HREF] == 0
    engine.dispose()


@pytest.mark.parametrize(("args", "message"), [
    (["--dataset", "drugs"], "borderstats: unknown dataset 'drugs'; the manifest has encounters, "
                             "overdose_deaths, seizures"),
    (["--family", "cbp-drugs"], "borderstats: unknown family 'cbp-drugs'; choose from cbp-seizures"),
    (["--manifest", "/nonexistent/sources.json"],
     "borderstats: cannot read the sources manifest /nonexistent/sources.json: No such file"),
    (["--every", "0"], "Invalid value for '--every'"),
])
def test_sync_usage_errors_exit_2(invoke, args, message):
    result = invoke(args, database_url=None)
    assert result.exit_code == 2
    assert message in result.stderr


def test_sync_exits_3_when_the_database_is_unreachable(invoke, agency, tmp_path):
    manifest = local_manifest(agency, tmp_path, ["cbp-sw-encounters"])
    result = invoke(["--manifest", str(manifest)],
                    database_url="postgresql://postgres@127.0.0.1:9/borderstats")
    assert result.exit_code == 3
    assert result.stderr.startswith("borderstats: cannot reach the database postgresql+psycopg://postgres@127.0.0.1:9/")
    assert agency.hits[SW_PAGE] == 0


def test_sync_every_keeps_running_after_a_failed_pass(agency, database_url, data_dir, tmp_path):
    """The compose `sync` service: a pass that fails is reported and the next one still runs."""
    agency.page(SW_PAGE, [])  # no link yet: the first passes fail
    manifest = local_manifest(agency, tmp_path, ["cbp-sw-encounters"])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BORDERSTATS_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url, BORDERSTATS_SYNC_MANIFEST=str(manifest),
               BORDERSTATS_SYNC_ATTEMPTS="1")
    process = subprocess.Popen([*borderstats_command(), "sync", "--every", "1"], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(lines) < 7:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if lines[-1].startswith("next sync in") and len(lines) == 3:
                publish(agency, data_dir)  # the agency publishes between two passes
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert lines[0].startswith(f"cbp-sw-encounters: error: no link on {agency.url(SW_PAGE)} matches ")
    assert lines[1].startswith("1 source(s), 1 failed, in ") and lines[2] == "next sync in 1 s"
    assert lines[3].startswith("cbp-sw-encounters: sbo-encounters-fy19-fy22.csv: new release 1, ")
    assert lines[4].startswith("1 source(s), 0 failed, in ") and lines[5] == "next sync in 1 s"
    assert lines[6].startswith("cbp-sw-encounters: sbo-encounters-fy19-fy22.csv: already loaded")


def test_sync_every_collects_garbage_while_it_waits_between_passes(invoke, monkeypatch, tmp_path,
                                                                   agency):
    """Commands run with high collector thresholds (app.ops.cli.main): the loop frees a pass's
    cycles before it sleeps, so a long-running sync does not hold them until a rare full pass."""
    import gc

    from app.ops import cli as cli_module

    events: list[str] = []
    monkeypatch.setattr(cli_module, "_sync_pass", lambda *a, **k: events.append("pass") or 0)
    monkeypatch.setattr(gc, "collect", lambda *a: events.append("collect") or 0)

    def sleep(seconds: float) -> None:
        events.append("sleep")
        if events.count("sleep") == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_module.time, "sleep", sleep)
    manifest = local_manifest(agency, tmp_path, ["cbp-sw-encounters"])
    result = invoke(["--every", "5", "--manifest", str(manifest)], database_url=None)
    assert result.exit_code == 0, result.output
    assert events == ["pass", "collect", "sleep", "pass", "collect", "sleep"]
