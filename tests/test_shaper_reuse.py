"""A question's shaper (its converters and what they have worked out, app/query/result.py
`Shaper.for_plan`) is compiled once per plan and data version, and kept with the plan. On one
catalog, every question of every dataset (each dimension and grain alone, with and without
filters, and values written another way) asked in turn, again, and for another page, answers as
a shaper compiled afresh answers it, and describes the request that asked (its spec), not the
one that compiled it. Nothing kept refers back to the plan: a plan made for one request is freed
without the garbage collector."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
from typing import Any
from unittest.mock import patch

from starlette.datastructures import QueryParams
from test_rendered_sql import _questions

from app.api.direct import ParamReader
from app.api.params import DATA_MODELS
from app.datasets import DATASETS
from app.db import database_urls, make_async_engine
from app.errors import ApiError
from app.query import execute
from app.query.catalog import CatalogCache
from app.query.execute import FigureRequest
from app.query.result import Shaper

# Values written another way (case, order, the area's other parameter name): the same question
# key as a question asked before them, another request.
RESPELLED = {
    "seizures": ["group_by=fiscal_year&drug=Fentanyl,COCAINE&limit=1000",
                 "group_by=fiscal_year&drug=cocaine,fentanyl&limit=1000",
                 "group_by=month&area=Tucson-Sector&limit=1000"],
    "encounters": ["group_by=fiscal_year&citizenship=Guatemala,MEXICO&limit=1000",
                   "group_by=month&sector=tucson-sector&fiscal_year=2022&limit=1000",
                   "group_by=month&area=tucson-sector&fiscal_year=2022&limit=1000"],
    "overdose_deaths": ["group_by=year&state=tx,az&limit=1000",
                        "group_by=year&state=AZ,TX&limit=1000"],
}


def _paged(question: str) -> str:
    return re.sub(r"limit=\d+(&offset=\d+)?", "limit=2&offset=1", question)


def _described(result: Any) -> dict[str, Any]:
    return {"rows": result.rows, "columns": result.columns, "total": result.total_rows,
            "releases": [r.id for r in result.releases], "coverage": result.coverage,
            "complete": result.complete, "summed": result.summed, "months": result.months,
            "requested": result.requested, "caveats": result.caveats,
            "page": (result.spec.limit, result.spec.offset)}


async def _ask(conn: Any, reader: ParamReader, query: str, catalog: Any) -> dict[str, Any]:
    spec = reader.read(QueryParams(query)).resolve(catalog)
    result = await execute.run(conn, spec, catalog)
    assert result.spec is spec, query  # the request that asked
    return _described(result)


def _compiled_afresh(cls: type[Shaper], plan: Any, catalog: Any, columns: Any) -> Shaper:
    return cls._compiled(plan, catalog, columns)


async def _answers(url: str) -> tuple[dict, dict]:
    engine = make_async_engine(database_urls(url))
    kept: dict[tuple, Any] = {}
    fresh: dict[tuple, Any] = {}
    try:
        once = await CatalogCache(engine, ttl=3600).get()
        catalog = await CatalogCache(engine, ttl=3600).get()
        async with engine.connect() as conn:
            for name in DATASETS:
                reader = ParamReader(DATA_MODELS[name])
                questions = [*_questions(name, pairs=False), *RESPELLED[name]]
                # the reference: every shaper compiled afresh, nothing kept
                with patch.object(Shaper, "for_plan", classmethod(_compiled_afresh)):
                    for question in questions:
                        for form, query in (("written", question), ("paged", _paged(question))):
                            once.memo.clear()  # plans afresh too
                            # (ApiError: a combination no loaded release carries, no statement)
                            with contextlib.suppress(ApiError):
                                fresh[(name, question, form)] = await _ask(conn, reader, query,
                                                                           once)
                # then each answerable question on one catalog, in turn: as written, again, paged
                for question in questions:
                    if (name, question, "written") in fresh:
                        for turn, form in enumerate(("written", "written", "paged")):
                            query = question if form == "written" else _paged(question)
                            kept[(name, question, form, turn)] = await _ask(conn, reader, query,
                                                                            catalog)
    finally:
        await engine.dispose()
    return kept, fresh


def test_kept_shapers_answer_as_shapers_compiled_afresh(loaded_url):
    kept, fresh = asyncio.run(_answers(loaded_url))
    for name in DATASETS:
        # the catalog's questions (each in two forms), not a few
        assert sum(k[0] == name for k in fresh) >= 30, name
    assert all(k[:3] in fresh for k in kept) and len(kept) == 3 * len(fresh) // 2
    for (name, question, form, turn), described in kept.items():
        assert described == fresh[(name, question, form)], (name, question, turn)
    paged = [d for (_, _, form, _), d in kept.items() if form == "paged"]
    assert all(d["page"] == (2, 1) for d in paged)
    assert sum(bool(d["rows"]) for d in paged) > len(paged) // 2


async def _garbage_of_batches(url: str) -> int:
    """Objects only the garbage collector would free, left by 20 batches of figures built for
    one request each (comparisons; claims asked afresh), the collector off meanwhile."""
    engine = make_async_engine(database_urls(url))
    try:
        catalog = await CatalogCache(engine, ttl=3600).get()
        reader = ParamReader(DATA_MODELS["seizures"])
        spec = reader.read(QueryParams("drug=fentanyl&fiscal_year=2021")).resolve(catalog)
        requests = [FigureRequest(spec, "quantity_lbs"), FigureRequest(spec, "event_count")]
        async with engine.connect() as conn:
            await execute.figures(conn, requests, catalog)  # what a first batch sets up
            gc.collect()
            gc.disable()
            try:
                for _ in range(20):
                    results = await execute.figures(conn, requests, catalog)
                    assert results[0].rows and results[1].rows
                del results
                return gc.collect()
            finally:
                gc.enable()
    finally:
        await engine.dispose()


def test_a_batch_made_for_one_request_leaves_nothing_to_the_garbage_collector(loaded_url):
    assert asyncio.run(_garbage_of_batches(loaded_url)) == 0
