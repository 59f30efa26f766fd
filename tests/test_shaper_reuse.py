"""A question's shaper (its converters and what they have worked out, app/query/result.py
`Shaper.for_plan`) is compiled once per plan and data version, and kept with the plan. An answer
from a kept shaper is the answer of a shaper compiled afresh, for every dataset, each dimension
and grain alone, with and without filters, asked again and asked for another page;
and it describes the request that asked (its spec), not the one that compiled it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.datastructures import QueryParams
from test_rendered_sql import _questions

from app.api.direct import ParamReader
from app.api.params import DATA_MODELS
from app.datasets import DATASETS
from app.db import database_urls, make_async_engine
from app.errors import ApiError
from app.query import execute
from app.query.catalog import CatalogCache


def _paged(question: str) -> str:
    return re.sub(r"limit=\d+(&offset=\d+)?", "limit=2&offset=1", question)


def _described(result: Any) -> dict[str, Any]:
    return {"rows": result.rows, "columns": result.columns, "total": result.total_rows,
            "releases": [r.id for r in result.releases], "coverage": result.coverage,
            "complete": result.complete, "summed": result.summed, "months": result.months,
            "requested": result.requested, "caveats": result.caveats,
            "page": (result.spec.limit, result.spec.offset)}


async def _answers(url: str) -> tuple[dict, dict, dict, int]:
    engine = make_async_engine(database_urls(url))
    kept: dict[tuple, Any] = {}
    fresh: dict[tuple, Any] = {}
    asked = 0
    try:
        # one catalog asked every question three times: as written, again, another page; and
        # each of the two forms asked once only, on catalogs of their own
        catalogs = {name: await CatalogCache(engine, ttl=3600).get()
                    for name in ("kept", "full", "paged")}
        async with engine.connect() as conn:
            for name in DATASETS:
                reader = ParamReader(DATA_MODELS[name])
                for question in _questions(name, pairs=False):
                    for turn, (catalog, query) in enumerate([
                            (catalogs["kept"], question), (catalogs["kept"], question),
                            (catalogs["kept"], _paged(question)),
                            (catalogs["full"], question), (catalogs["paged"], _paged(question))]):
                        try:
                            spec = reader.read(QueryParams(query)).resolve(catalog)
                            result = await execute.run(conn, spec, catalog)
                        except ApiError:
                            break  # a combination no loaded release carries: no statement
                        assert result.spec is spec, query  # the request that asked
                        (kept if turn < 3 else fresh)[(name, question, turn % 3 if turn < 3
                                                      else 2 * (turn - 3))] = _described(result)
                    else:
                        asked += 1
    finally:
        await engine.dispose()
    return kept, fresh, catalogs, asked


def test_kept_shapers_answer_as_shapers_compiled_afresh(loaded_url):
    kept, fresh, _, asked = asyncio.run(_answers(loaded_url))
    assert asked >= 60  # every dataset's questions, not a handful
    for (name, question, turn), described in kept.items():
        form = 0 if turn < 2 else 2  # as written (asked twice), or the other page
        assert described == fresh[(name, question, form)], (name, question, turn)
    paged = [d for (_, _, turn), d in kept.items() if turn == 2]
    assert all(d["page"] == (2, 1) for d in paged)
    assert any(d["rows"] for d in paged)
