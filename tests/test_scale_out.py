"""Past one machine (issue 11, item 4): the API reads from DATABASE_READ_URL (a replica) while
ingest writes to DATABASE_URL, and API processes that share nothing but the database see a new
release, its figures and a new ETag within BORDERSTATS_VERSION_TTL."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.api_helpers import api_client, drug_slugs, get_json, lbs, read_csv
from tests.conftest import BIN_DIR, PostgresServer, engine_for
from tests.live_server import live_server

FIRST = "cbp-drug-seizures-fy19-fy22.csv"
SECOND = "cbp-drug-seizures-fy20-fy23.csv"
QUERY = "/seizures?drug=fentanyl&group_by=fiscal_year"
TTL = 1.0


def fentanyl_events(name: str, fiscal_year: str) -> int:
    """Fentanyl seizure events of one fiscal year in one file, read with the csv module."""
    slugs = drug_slugs()
    return sum(int(r["Count of Event"]) for r in read_csv(name)
               if r["FY"].startswith(fiscal_year) and slugs[r["Drug Type"]] == "fentanyl")


def cli_env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DATABASE_READ_URL") and not k.startswith("BORDERSTATS_")}
    return {**env, **variables}


def test_the_api_reads_from_database_read_url(database_factory, loaded_url: str) -> None:
    primary = database_factory.new()  # migrated, empty: a request answered from it has no data
    with api_client(primary, database_read_url=loaded_url) as client:
        body = get_json(client, "/seizures", {"drug": "fentanyl", "fiscal_year": "2021"})
        ready = get_json(client, "/readyz")
    rows = [r for r in read_csv(SECOND)  # the file current for every month of FY2021
            if r["FY"].startswith("2021") and drug_slugs()[r["Drug Type"]] == "fentanyl"]
    assert len(body["data"]) == 1
    assert body["data"][0]["event_count"] == sum(int(r["Count of Event"]) for r in rows)
    assert body["data"][0]["quantity_lbs"] == lbs(sum(float(r["Sum Qty (lbs)"]) for r in rows))
    assert ready["releases"] == 12  # the replica's; the primary holds none


def test_ingest_writes_to_database_url_never_to_the_read_url(database_factory, loaded_url: str,
                                                             data_dir: Path, db_state,
                                                             tmp_path: Path) -> None:
    primary = database_factory.new()
    replica = engine_for(loaded_url)
    before = db_state(replica)
    result = subprocess.run(
        [str(BIN_DIR / "borderstats"), "ingest", "-q", str(data_dir / FIRST)],
        env=cli_env(DATABASE_URL=primary, DATABASE_READ_URL=loaded_url), cwd=tmp_path,
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert db_state(replica) == before
    replica.dispose()
    with api_client(primary) as client:
        releases = get_json(client, "/releases", {"dataset": "seizures"})["data"]
    assert [r["file_name"] for r in releases] == [FIRST]


@pytest.fixture
def shared_database(postgres_server: PostgresServer, data_dir: Path) -> Iterator[str]:
    """One Postgres database holding the first seizures release only."""
    from app.ingest.load import ingest_paths

    url = postgres_server.create()
    engine = engine_for(url)
    ingest_paths(engine, [str(data_dir / FIRST)])
    engine.dispose()
    yield url
    postgres_server.drop(url)


def answers(clients: list[httpx.Client]) -> list[tuple[str, dict]]:
    out = []
    for client in clients:
        response = client.get(QUERY)
        assert response.status_code == 200, response.text
        out.append((response.headers["etag"],
                    {row["fiscal_year"]: row["event_count"] for row in response.json()["data"]}))
    return out


def test_two_api_instances_see_a_release_ingested_by_a_third_process_within_the_ttl(
        shared_database: str, data_dir: Path, tmp_path: Path) -> None:
    settings = Settings(database_url=shared_database, version_ttl_seconds=TTL, log_level="WARNING")
    with ExitStack() as stack:
        bases = [stack.enter_context(live_server(settings)) for _ in range(2)]
        clients = [stack.enter_context(httpx.Client(base_url=base, timeout=10)) for base in bases]
        before = answers(clients)
        for _ in range(3):  # cached now: the response cache must not outlive the release
            assert answers(clients) == before
        (etag, figures), (other_etag, other_figures) = before
        assert etag == other_etag and figures == other_figures
        assert 2023 not in figures and figures[2021] == fentanyl_events(FIRST, "2021")

        ingest = subprocess.run(
            [str(BIN_DIR / "borderstats"), "ingest", "-q", str(data_dir / SECOND)],
            env=cli_env(DATABASE_URL=shared_database), cwd=tmp_path, capture_output=True,
            text=True, timeout=300)
        committed = time.monotonic()
        assert ingest.returncode == 0, ingest.stderr

        seen: dict[int, float] = {}
        while len(seen) < 2 and time.monotonic() - committed < TTL + 2:
            for i, (new_etag, new_figures) in enumerate(answers(clients)):
                if i not in seen and new_etag != etag:
                    seen[i] = time.monotonic() - committed
                    assert new_figures[2023] == fentanyl_events(SECOND, "2023")
                    assert new_figures[2021] == fentanyl_events(SECOND, "2021")
            time.sleep(0.05)
        assert sorted(seen) == [0, 1], "an instance kept the old release"
        # within the TTL (plus the time one poll round and a request take)
        assert max(seen.values()) <= TTL + 0.5, seen
        after = answers(clients)
        assert after[0] == after[1]
