"""A registered claim's figures are planned once per data version, and each figure's result is
kept with the plan for as long as its row is the same (app/query/execute.py `figures`). Claims
answered from kept results say what claims planned afresh say: on the catalog a server still
holds after a release was committed (until its next data-version check), and on the next one."""

from __future__ import annotations

import asyncio
from typing import Any

import api_helpers as h

from app.claims import registry
from app.claims.evaluate import evaluate_claims
from app.db import database_urls, make_async_engine
from app.ingest.load import ingest_paths
from app.query.catalog import CatalogCache
from app.render.claims import claim_document

LATER = "cbp-sw-encounters-fy22-fy25-aug.csv"  # newer release of FY2022's encounter months
FIRST = [p.name for p in h.DATA_DIR.iterdir() if p.suffix in {".csv", ".xlsx"} and p.name != LATER]


async def _evaluate(reader: Any, catalog: Any, *, registered: bool) -> list[dict[str, Any]]:
    async with reader.connect() as conn:
        results = await evaluate_claims(conn=conn, catalog=catalog,
                                        claims=registry.registry().claims, registered=registered)
    return [claim_document(r) for r in results]


async def _claims(url: str, engine: Any) -> dict[str, Any]:
    reader = make_async_engine(database_urls(url))
    try:
        old = await CatalogCache(reader, ttl=3600).get()
        out: dict[str, Any] = {
            "kept": [await _evaluate(reader, old, registered=True) for _ in range(2)],
            "fresh": await _evaluate(reader, old, registered=False)}
        await asyncio.to_thread(ingest_paths, engine, [str(h.DATA_DIR / LATER)])
        # the catalog held before the release: the data version is not read again
        out["stale kept"] = await _evaluate(reader, old, registered=True)
        out["stale fresh"] = await _evaluate(reader, old, registered=False)
        new = await CatalogCache(reader, ttl=3600).get()
        out["new kept"] = [await _evaluate(reader, new, registered=True) for _ in range(2)]
        out["new fresh"] = await _evaluate(reader, new, registered=False)
        return out
    finally:
        await reader.dispose()


def test_claims_from_kept_results_say_what_claims_planned_afresh_say(database_url,
                                                                     database_factory):
    engine = database_factory.engine(database_url)
    ingest_paths(engine, [str(h.DATA_DIR / name) for name in FIRST])
    found = asyncio.run(_claims(database_url, engine))
    assert found["kept"][0] == found["kept"][1] == found["fresh"]
    assert found["stale kept"] == found["stale fresh"]
    assert found["new kept"][0] == found["new kept"][1] == found["new fresh"]
    assert found["new fresh"] != found["fresh"]  # the later release changed what the claims say
