"""Rollups rebuilt only for the months a command changed equal a full rebuild from the facts.

Every monthly official file is loaded in several orders (one command each, or several files in one
command); afterwards the rollup tables must hold exactly the rows a full rebuild (sums of every
current fact, in SQL) writes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.ingest import rollups
from app.ingest.load import load_parsed
from app.models import EncounterRollup, SeizureRollup

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
            out[table.name] = sorted(
                (tuple(row) for row in conn.execute(select(*columns))),
                key=lambda row: tuple((v is None, str(v)) for v in row))
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
    for table, rows in rebuilt.items():
        assert len(incremental[table]) == len(rows), table
        columns = [c.name for c in (SeizureRollup if table == "seizure_rollup" else EncounterRollup)
                   .__table__.c if c.name != "id"]
        for got, expected in zip(incremental[table], rows, strict=True):
            for name, a, b in zip(columns, got, expected, strict=True):
                if name in FLOATS:
                    assert a == pytest.approx(b, rel=1e-12), (table, got, expected)
                else:
                    assert a == b, (table, name, got, expected)


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
