"""A question grouped by a referenced dimension (area, drug) is summed by the fact's id and the
reference table joined to the sums (app/query/build.py `_join_keyed`), not grouped by the joined
slug and name. Over the catalog (every dataset; each dimension and grain alone and in pairs,
with and without filters, encounters also for each component; sorted pages; each family) both
statements give the same rows, in the same order, with the same column names, on both
backends."""

from __future__ import annotations

import asyncio

from starlette.datastructures import QueryParams

from app.api.direct import ParamReader
from app.api.params import DATA_MODELS
from app.datasets import DATASETS
from app.db import database_urls, make_async_engine
from app.errors import ApiError
from app.query import build as build_module
from app.query.catalog import CatalogCache
from app.query.sources import choose_family
from tests.test_rendered_sql import _questions


def _keyed_shapes() -> list:
    shapes = {id(d.shape): d.shape for ds in DATASETS.values() for d in ds.dimensions
              if d.shape.keyed}
    return list(shapes.values())


async def _compare(url: str, monkeypatch) -> dict[str, int]:
    engine = make_async_engine(database_urls(url))
    compared: dict[str, int] = {}
    try:
        catalog = await CatalogCache(engine, ttl=60).get()
        for name in DATASETS:
            reader = ParamReader(DATA_MODELS[name])
            questions = _questions(name)
            if name == "encounters":  # areas are sectors (USBP) or field offices (OFO)
                questions += [f"{q}&component={c}" for q in questions for c in ("usbp", "ofo")
                              if "component=" not in q and "source=" not in q]
            for question in questions:
                params = reader.read(QueryParams(question))
                assert params is not None, question
                try:
                    spec = params.resolve(catalog)
                    family = choose_family(spec, catalog)
                except ApiError:
                    continue  # a combination no loaded release carries: a 422, no statement
                plan = build_module._build(spec, family, catalog, use_rollups=True,
                                           measures=None, page=True)
                with monkeypatch.context() as patched:
                    for shape in _keyed_shapes():  # group by the joined labels instead
                        patched.setitem(shape.__dict__, "keyed", False)
                    by_label = build_module._build(spec, family, catalog, use_rollups=True,
                                                   measures=None, page=True)
                if "groups" not in str(plan.statement):
                    assert str(plan.statement) == str(by_label.statement), question
                    continue
                async with engine.connect() as conn:
                    ours = await conn.execute(plan.statement, plan.parameters())
                    theirs = await conn.execute(by_label.statement, by_label.parameters())
                    assert list(ours.keys()) == list(theirs.keys()), question
                    assert [tuple(r) for r in ours.all()] == [tuple(r) for r in theirs.all()], \
                        question
                assert plan.keys == by_label.keys, question
                compared[name] = compared.get(name, 0) + 1
    finally:
        await engine.dispose()
    return compared


def test_grouping_by_the_id_answers_as_grouping_by_the_joined_labels(loaded_url, monkeypatch):
    compared = asyncio.run(_compare(loaded_url, monkeypatch))
    # every dataset that has a referenced dimension was compared, many questions each
    assert set(compared) == {"seizures", "encounters"}
    assert min(compared.values()) >= 10, compared


def test_a_dimension_grouped_by_joined_columns_keeps_the_join_before_summing(loaded_url):
    """A seizure's state is its area's states label (several areas share one): grouped by the
    label, the statement is not made by key (and its figures are those of the files, held by
    test_api_figures); nor is a monthly question (a group about one row); a yearly one is."""
    async def plan_sql(question: str) -> str:
        engine = make_async_engine(database_urls(loaded_url))
        try:
            catalog = await CatalogCache(engine, ttl=60).get()
            spec = ParamReader(DATA_MODELS["seizures"]).read(QueryParams(question)).resolve(catalog)
            return str(build_module.build(spec, choose_family(spec, catalog), catalog).statement)
        finally:
            await engine.dispose()

    assert "groups" not in asyncio.run(plan_sql("group_by=state,drug"))
    # at the stored grain (a month) a group is about one row: grouped by the labels, no subquery
    assert "groups" not in asyncio.run(plan_sql("group_by=area,month&drug=fentanyl"))
    keyed = asyncio.run(plan_sql("group_by=area,fiscal_year&drug=fentanyl"))
    assert "GROUP BY seizure_rollup.area_id" in keyed and "groups" in keyed
