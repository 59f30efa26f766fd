"""Rollups rebuilt only for the months a command changed equal a full rebuild from the facts.

Every monthly official file is loaded in several orders (one command each, or several files in one
command); afterwards the rollup tables must hold exactly the rows a full rebuild (sums of every
current fact, in SQL) writes.
"""

from __future__ import annotations

import api_helpers as h
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import Settings
from app.datasets import DATASETS
from app.ingest import rollups, snapshot
from app.ingest.load import load_parsed
from app.main import create_app
from app.models import DataVersion, EncounterRollup, SeizureRollup
from app.paths import project_dir
from tests.conftest import engine_for

MONTHLY = (
    "cbp-drug-seizures-fy19-fy22.csv",
    "cbp-drug-seizures-fy20-fy23.csv",
    "cbp-drug-seizures-fy23-fy26-dec.csv",
    "cbp-encounters-by-state-fy20-fy23.csv",
    "cbp-sw-encounters-fy19-fy22.csv",
    "cbp-sw-encounters-fy22-fy25-aug.csv",
    "ohss-usbp-encounters-fy25m11.xlsx",
    "ohss-usbp-encounters-monthly-sector.csv",
)
# Each order is a list of commands; each command a list of files (indexes into MONTHLY).
ORDERS = {
    "one-command-in-name-order": [[0, 1, 2, 3, 4, 5, 6, 7]],
    "one-file-per-command-newest-first": [[2], [1], [0], [5], [4], [7], [6], [3]],
    "mixed": [[1, 5], [3, 0], [7, 2, 4], [6]],
}
FLOATS = {"quantity_lbs"}


def rollup_rows(engine) -> dict[str, list[tuple]]:
    out = {}
    with engine.connect() as conn:
        for model in (SeizureRollup, EncounterRollup):
            table = model.__table__
            columns = [c for c in table.c if c.name != "id"]
            # Sorted by the database, both sides of a comparison alike (its ordering is a total
            # order on the key columns, which come before the float column)
            out[table.name] = [tuple(row) for row in conn.execute(select(*columns).order_by(*columns))]
    return out


@pytest.fixture(scope="module")
def parsed_files(data_dir):
    from app.ingest.reader import read_file

    return [read_file(data_dir / name) for name in MONTHLY]


@pytest.mark.parametrize("order", list(ORDERS), ids=list(ORDERS))
def test_rollups_after_loads_in_any_order_equal_a_full_rebuild(order, database_factory, parsed_files):
    engine = database_factory.engine()
    for command in ORDERS[order]:
        load_parsed(engine, [parsed_files[i] for i in command])
    incremental = rollup_rows(engine)
    with engine.begin() as conn:
        for dataset in ("seizures", "encounters"):
            rollups.rebuild(conn, dataset)
    rebuilt = rollup_rows(engine)
    assert len(incremental["seizure_rollup"]) > 10_000 and len(incremental["encounter_rollup"]) > 15_000
    for table in rebuilt:
        assert_same_rows(table, incremental[table], rebuilt[table])


def assert_same_rows(table: str, got: list[tuple], expected: list[tuple]) -> None:
    """Rollup rows equal column for column: the float column of a fractional measure to 1e-12
    (summed in another order; answers read its exact integer parts, which must be equal)."""
    assert len(got) == len(expected), table
    columns = [c.name for c in (SeizureRollup if table == "seizure_rollup" else EncounterRollup)
               .__table__.c if c.name != "id"]
    for row, other in zip(got, expected, strict=True):
        for name, a, b in zip(columns, row, other, strict=True):
            if name in FLOATS:
                # approx only where the floats differ: the same assertion, without building an
                # approx object for each of ~50,000 equal values
                assert a == b or a == pytest.approx(b, rel=1e-12), (table, row, other)
            else:
                assert a == b, (table, name, row, other)


def test_the_catalog_reads_the_same_values_from_rollups_as_from_the_facts(loaded_url):
    """The catalog takes each release's distinct values (every stored dimension of every
    dataset) and each area's latest region from the smallest rollup that keeps them; read from
    the live facts instead, they are the same, value for value."""
    import asyncio
    from dataclasses import replace

    from app.db import database_urls, make_async_engine
    from app.query import catalog as catalogs

    async def both() -> tuple:
        engine = make_async_engine(database_urls(loaded_url))
        try:
            async with engine.connect() as conn:
                current = await catalogs.load_catalog(conn, await catalogs.read_version(conn))
                facts_only = replace(current, rollups={})
                assert all(current.rollups[d] for d in ("seizures", "encounters"))
                return ((await catalogs._vocabulary(conn, current),
                         await catalogs._data_regions(conn, current)),
                        (await catalogs._vocabulary(conn, facts_only),
                         await catalogs._data_regions(conn, facts_only)))
        finally:
            await engine.dispose()

    from_rollups, from_facts = asyncio.run(both())
    assert from_rollups == from_facts
    vocabulary = from_rollups[0]
    assert len(vocabulary) >= 11 and all(dims for dims in vocabulary.values())


INGEST_WITH_ROLLUPS_ABSENT = {
    # (files loaded first, files loaded once the rollup rows are gone): one family, then another
    "seizures, later release": (["cbp-drug-seizures-fy19-fy22.csv"],
                                ["cbp-drug-seizures-fy23-fy26-dec.csv"]),
    "encounters, another family": (["cbp-sw-encounters-fy19-fy22.csv"],
                                   ["ohss-usbp-encounters-monthly-sector.csv"]),
}


@pytest.mark.parametrize("case", list(INGEST_WITH_ROLLUPS_ABSENT), ids=list(INGEST_WITH_ROLLUPS_ABSENT))
def test_an_ingest_that_finds_the_rollups_absent_writes_them_whole(case, database_factory,
                                                                  data_dir):
    """A start stopped between the facts and the rollups leaves facts with no rollup rows; an
    ingest then must not write rollup rows of only the months it changed (the catalog would take
    them for the whole rollup): it writes every rollup of the dataset from all current facts.
    Fails if the ingest replaced only its months."""
    from app.ingest.load import ingest_paths

    first, second = INGEST_WITH_ROLLUPS_ABSENT[case]
    engine = database_factory.engine()
    ingest_paths(engine, [str(data_dir / name) for name in first])
    with engine.begin() as conn:
        for model in (SeizureRollup, EncounterRollup):
            conn.execute(model.__table__.delete())
    ingest_paths(engine, [str(data_dir / name) for name in second])
    written = rollup_rows(engine)
    with engine.begin() as conn:
        for dataset in ("seizures", "encounters"):
            rollups.rebuild(conn, dataset)
    rebuilt = rollup_rows(engine)
    table = "seizure_rollup" if case.startswith("seizures") else "encounter_rollup"
    assert len(rebuilt[table]) > 1000
    assert_same_rows(table, written[table], rebuilt[table])


SNAPSHOT = project_dir("seed") / "snapshot"


def data_version(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(DataVersion.version)).scalar_one()


def test_rollups_written_after_a_load_without_them_are_those_of_a_full_load(
        empty_engine, loaded_engine, db_state):
    """`serve` loads the snapshot's facts and writes the rollups after its first answers
    (rollups.complete): until then none of them holds a row, and then every one holds what a load
    with them (and the full ingest) holds. No figure changes, so the data version stays; a
    second call writes nothing."""
    snapshot.load(empty_engine, SNAPSHOT, with_rollups=False)
    with empty_engine.connect() as conn:
        assert rollups.incomplete(conn) == ["seizures", "encounters"]
        for name, dataset in DATASETS.items():
            assert rollups.absent(conn, name) == [",".join(d) for d in dataset.rollups], name
    assert all(not rows for rows in rollup_rows(empty_engine).values())
    before = data_version(empty_engine)

    assert rollups.complete(empty_engine) == ["seizures", "encounters"]
    assert data_version(empty_engine) == before
    written, full = rollup_rows(empty_engine), rollup_rows(loaded_engine)
    assert len(full["seizure_rollup"]) > 10_000 and len(full["encounter_rollup"]) > 15_000
    for table in full:
        assert_same_rows(table, written[table], full[table])
    with empty_engine.connect() as conn:
        assert rollups.incomplete(conn) == []
        assert all(rollups.absent(conn, name) == [] for name in DATASETS)

    state = db_state(empty_engine)
    assert rollups.complete(empty_engine) == []
    assert db_state(empty_engine) == state


def test_a_rollup_absent_beside_others_is_written_with_them(database_factory):
    """One declared rollup without rows while the dataset's others have theirs (a rollup a later
    release of borderstats declares; a start stopped part way cannot leave it, as `complete` is
    one transaction): `absent` names it and `incomplete` the dataset, for every declared rollup
    of each dataset (deleted in a transaction rolled back); `complete` writes the dataset's
    rollups whole (each dataset's last one deleted for good)."""
    engine = database_factory.engine()
    snapshot.load(engine, SNAPSHOT)
    whole = rollup_rows(engine)
    with_rollups = {n: d for n, d in DATASETS.items() if d.rollup_table is not None}
    order = list(DATASETS).index
    for index in range(max(len(d.rollups) for d in with_rollups.values())):
        with engine.connect() as conn, conn.begin() as transaction:
            dropped = {}
            for name, dataset in with_rollups.items():
                if index < len(dataset.rollups):
                    rollup = ",".join(dataset.rollups[index])
                    table = dataset.rollup_table
                    conn.execute(table.delete().where(table.c.rollup == rollup))
                    dropped[name] = rollup
            for name, rollup in dropped.items():
                assert rollups.absent(conn, name) == [rollup]
            assert rollups.incomplete(conn) == sorted(dropped, key=order)
            transaction.rollback()
    with engine.begin() as conn:
        for dataset in with_rollups.values():
            table = dataset.rollup_table
            conn.execute(table.delete().where(table.c.rollup == ",".join(dataset.rollups[-1])))
    assert rollups.complete(engine) == sorted(with_rollups, key=order)
    written = rollup_rows(engine)
    for table in whole:
        assert_same_rows(table, written[table], whole[table])


# A question reading each declared rollup (the test checks that they do), and each dataset plainly.
# The filters are those a family of encounters needs for the dimensions (area: USBP's sectors;
# component with region: the Southwest Border).
ROLLUP_QUESTIONS = {
    "seizures": [{}, {"group_by": "month"}, {"group_by": "drug,month"},
                 {"group_by": "area,month"}, {"group_by": "land_filter,fiscal_year"},
                 {"group_by": "drug,land_filter,month"}, {"group_by": "drug,area,month"},
                 {"group_by": "component,region,month"}],
    "encounters": [{}, {"group_by": "month"}, {"group_by": "state,month"},
                   {"group_by": "area,month", "component": "usbp"},
                   {"group_by": "demographic,month"}, {"group_by": "citizenship,month"},
                   {"group_by": "title_of_authority,month"},
                   {"group_by": "encounter_type,fiscal_year", "region": "southwest"},
                   {"group_by": "component,region,month", "region": "southwest"}],
    "overdose_deaths": [{}, {"group_by": "state,year"}, {"group_by": "category,year"}],
}


def test_the_questions_read_every_declared_rollup():
    for name, dataset in DATASETS.items():
        read = {dataset.smallest_rollup(
            {d for d in q.get("group_by", "").split(",") if d and d not in dataset.time.grains}
            | {k for k in q if k != "group_by"}) for q in ROLLUP_QUESTIONS[name]}
        assert read - {None} == dataset.rollup_names, name


def test_every_answer_is_the_same_before_and_after_the_rollups_are_written(database_url):
    """Between the facts and the rollups a running server answers from the facts: for a
    question of every declared rollup (and of each dataset), the rows it gives before are the
    rows it gives once the rollups are written, which it then reads."""
    engine = engine_for(database_url)
    snapshot.load(engine, SNAPSHOT, with_rollups=False)
    # A plain client: every answer's shape is checked elsewhere (tests/test_contract.py), and the
    # OpenAPI check of each 10,000-row page would take most of this test's time.
    settings = Settings(database_url=database_url, version_ttl_seconds=0, log_level="WARNING",
                        cache_entries=0)
    with TestClient(create_app(settings)) as client:
        def answers() -> list[tuple]:
            out = []
            for name, questions in ROLLUP_QUESTIONS.items():
                for question in questions:
                    body = h.get_json(client, "/" + name.replace("_", "-"),
                                      {**question, "limit": "10000"})
                    out.append((body["meta"]["total_rows"], body["data"]))
            return out

        async def present() -> dict:
            return (await client.app.state.catalogs.get()).rollups

        async def rollups_read() -> set:
            """The rollups the plans the answers were made with read (None: the facts)."""
            catalog = await client.app.state.catalogs.get()
            return {plan.rollup for key, plan in catalog.memo.items() if key[0] == "plan"}

        def etag() -> str:
            return client.get("/seizures", params={"drug": "fentanyl"}).headers["etag"]

        from_facts, first_etag = answers(), etag()
        assert not any(client.portal.call(present).values())
        assert client.portal.call(rollups_read) == {None}
        assert rollups.complete(engine) == ["seizures", "encounters"]
        from_rollups = answers()
        assert client.portal.call(rollups_read) == {
            None, *(r for d in DATASETS.values() for r in d.rollup_names)}
        assert etag() == first_etag  # no figure changed: the data version and ETags stay
        assert client.portal.call(present) == {
            name: dataset.rollup_names
            for name, dataset in DATASETS.items() if dataset.rollup_table is not None}
    engine.dispose()
    assert len(from_facts) == sum(len(q) for q in ROLLUP_QUESTIONS.values())
    assert all(total > 0 for total, _ in from_facts)
    assert from_rollups == from_facts


def test_complete_takes_no_lock_when_no_rollup_is_absent(database_factory):
    """`db upgrade` (every deploy) and each start call `complete`: on a database with every
    rollup it must not wait behind a running ingest, which holds the writers' lock for as long
    as it loads (on Postgres with no time limit). Fails if it took the lock before looking."""
    import threading

    from app.db import lock_for_writing

    engine = database_factory.engine()
    snapshot.load(engine, SNAPSHOT)
    result: list = []
    with engine.connect() as ingest, ingest.begin():
        lock_for_writing(ingest)  # an ingest in progress
        worker = threading.Thread(target=lambda: result.append(rollups.complete(engine)),
                                  daemon=True)
        worker.start()
        worker.join(timeout=10)
        waited = worker.is_alive()
    worker.join(timeout=60)
    assert not waited and result == [[]]
