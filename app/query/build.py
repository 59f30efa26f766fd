"""One SELECT per request, built from the spec and the registry: aggregation in SQL, the total
number of groups from a window function, the smallest rollup that holds the request's dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Float, Integer, Select, String, and_, bindparam, cast, func, literal, null, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.datasets import Dataset, Family
from app.datasets.shapes import Output, Shape
from app.query.catalog import Catalog
from app.query.spec import QuerySpec


class distinct_ids(FunctionElement):
    """Comma-separated distinct values of an integer column, per group."""

    type = String()
    inherit_cache = True


@compiles(distinct_ids, "postgresql")
def _distinct_ids_pg(element, compiler, **kw):
    return f"string_agg(DISTINCT CAST({compiler.process(element.clauses, **kw)} AS TEXT), ',')"


@compiles(distinct_ids)
def _distinct_ids_default(element, compiler, **kw):
    return f"group_concat(DISTINCT {compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True)
class Plan:
    """The statement and how to read its rows."""

    spec: QuerySpec
    family: Family
    statement: Select | None
    keys: tuple[tuple[str, Output | None], ...]  # output label -> its output (None: the grain)
    measures: tuple[str, ...]
    rollup: str | None
    # The statement rendered as a driver's SQL with its values bound but the page, per driver
    # (app.query.execute): shared by every copy of a memoized plan, gone with it.
    rendered: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict, compare=False,
                                                            repr=False)
    # Its rows' shaper compiled once (app.query.result.Shaper.for_plan), per column layout: the
    # converters and what they have worked out, shared the same way.
    shapers: dict[tuple[str, ...], Any] = field(default_factory=dict, compare=False, repr=False)

    def parameters(self) -> dict[str, int]:
        """The values a paged statement binds: the spec's page."""
        return {"page_limit": self.spec.limit, "page_offset": self.spec.offset}


def rollup_for(dataset: Dataset, used: set[str],
               present: frozenset[str] | None = None) -> str | None:
    """The rollup a request using these dimensions reads (Dataset.smallest_rollup)."""
    return dataset.smallest_rollup(used, present)


def build(spec: QuerySpec, family: Family, catalog: Catalog, *, use_rollups: bool = True,
          measures: tuple[str, ...] | None = None, page: bool = True) -> Plan:
    """The single SELECT that answers `spec` from `family`.

    Built once per data version for each distinct question: the statement depends only on what
    the key below holds (values as stored, not as written), so the same question asked by another
    spelling reuses it; the plan always carries the spec that asked."""
    key = ("plan", question_key(spec, family), use_rollups, measures, page)
    cached = catalog.memo.get(key)
    if cached is None:
        cached = remember(catalog, key, _build(spec, family, catalog, use_rollups=use_rollups,
                                               measures=measures, page=page))
    return cached if cached.spec is spec else replace(cached, spec=spec)


def question_key(spec: QuerySpec, family: Family) -> tuple:
    """What a statement answering `spec` depends on: values as stored, not as written (the page,
    limit and offset, is bound per request)."""
    return (spec.dataset.name, family.key,
            tuple(sorted((dim, f.values) for dim, f in spec.filters.items())), spec.period,
            spec.group_by, spec.grain, spec.sort)


def remember(catalog: Catalog, key: tuple, value: Any) -> Any:
    """Keep `value` for this data version (the memo is bounded: catalog.Memo)."""
    catalog.memo[key] = value
    return value


def _build(spec: QuerySpec, family: Family, catalog: Catalog, *, use_rollups: bool,
           measures: tuple[str, ...] | None, page: bool) -> Plan:
    dataset = spec.dataset
    rollup = (rollup_for(dataset, spec.used, catalog.rollups.get(dataset.name))
              if use_rollups else None)
    fact = dataset.rollup_table if rollup else dataset.table
    shapes = [dataset.dimension(name).shape for name in spec.group_by]
    keyed = [s for s in shapes if s.keyed]
    # Where a group sums several periods (a grain coarser than the stored one, or none), group
    # by a referenced dimension's id and join its table to the sums: fewer, narrower rows to
    # join and group ((a) fentanyl by area x FY, 1,371 rollup rows into 248 groups: 1.27 ->
    # 0.94 ms inside Postgres, 25 alternated EXPLAIN ANALYZE, slow 2-core machine). At the stored
    # grain a group is about one row, and the subquery costs more than it saves (sectors x
    # months 0.35 -> 0.40 ms).
    # Not when a dimension groups by columns of a joined table itself (a seizure's states).
    by_key = bool(keyed) and spec.grain != dataset.time.grains[0] \
        and all(s.keyed or all(o.join is None for o in s.outputs) for s in shapes) \
        and len({o.join for s in keyed for o in s.outputs}) == len(keyed)
    columns: list[Any] = []
    keys: list[tuple[str, Output | None]] = []
    joins: dict[Any, Any] = {}
    group: list[Any] = []
    for name, shape in zip(spec.group_by, shapes, strict=True):
        if by_key and shape.keyed:
            column = fact.c[shape.column]
            columns.append(column.label(f"_key_{name}"))
            group.append(column)
            continue
        for output in shape.outputs:
            expression = output.expression(fact)
            if output.join is not None:
                joins.setdefault(output.join, shape.join_on(fact, output.join))
            columns.append(expression.label(output.label))
            group.append(expression)
    if spec.grain:
        expression = dataset.time.grain_expression(spec.grain, fact)
        columns.append(expression.label(spec.grain))
        group.append(expression)
    wanted = [dataset.measure(m) for m in (measures or dataset.measure_names)]
    columns.extend(m.aggregate(fact).label(m.name) for m in wanted)
    columns.extend(_bookkeeping(dataset, fact, window=not by_key))

    statement = select(*columns).select_from(fact)
    for table, on in joins.items():
        statement = statement.join(table, on)
    statement = statement.where(*conditions(spec, family, catalog, fact))
    if rollup:
        statement = statement.where(fact.c.rollup == rollup)
    if group:
        statement = statement.group_by(*group)
    if by_key:
        statement, columns = _join_keyed(statement, spec, shapes, [c.name for c in columns])
    for shape in shapes:
        keys.extend((output.label, output) for output in shape.outputs)
    if spec.grain:
        keys.append((spec.grain, None))
    by_label = {c.name: c for c in columns}
    order = [(by_label[n].desc() if desc else by_label[n].asc()).nulls_last() for n, desc in spec.sort]
    sorted_by = {n for n, _ in spec.sort}
    # tie-break on every key: a total order makes paging stable
    order += [by_label[label].asc().nulls_last() for label, _ in keys if label not in sorted_by]
    if order:
        statement = statement.order_by(*order)
    if page:
        # The page is bound per request (Plan.parameters), so every page of a question shares
        # one plan and one compiled statement.
        statement = statement.limit(bindparam("page_limit", type_=Integer)).offset(
            bindparam("page_offset", type_=Integer))
    return Plan(spec=spec, family=family, statement=statement, keys=tuple(keys),
                measures=tuple(m.name for m in wanted), rollup=rollup)


def _join_keyed(grouped: Select, spec: QuerySpec, shapes: list[Any],
                names: list[str]) -> tuple[Select, list[Any]]:
    """The grouped statement as a subquery, its referenced dimensions' ids joined to their tables
    for the labels: the same columns, in the same order, as grouping by the labels gives (an id
    is one slug and one name; an inner join drops a group without one, as joining before
    summing dropped its rows), and the window count of the groups that remain."""
    groups = grouped.subquery("groups")
    columns: list[Any] = []
    joined = groups
    for name, shape in zip(spec.group_by, shapes, strict=True):
        if shape.keyed:
            # a keyed shape's outputs are columns of the row its id names (shapes.referenced)
            assert type(shape).join_on is Shape.join_on, shape
            table = shape.outputs[0].join
            joined = joined.join(table, table.c.id == groups.c[f"_key_{name}"])
            columns.extend(o.expression(None).label(o.label) for o in shape.outputs)
        else:
            columns.extend(groups.c[o.label] for o in shape.outputs)
    labelled = {c.name for c in columns}
    columns.extend(groups.c[n] for n in names if not n.startswith("_key_") and n not in labelled)
    columns.append(func.count().over().label("_total"))
    return select(*columns).select_from(joined), columns


def _bookkeeping(dataset: Dataset, fact: Any, *, window: bool = True) -> list[Any]:
    """Counts that say what was summed: rows matched, total groups (the window; left to the
    query around a grouped subquery), and where releases are current cell by cell, the releases
    and years behind each group."""
    out = []
    if dataset.revision == "cell":
        time = fact.c[dataset.time.column]
        out += [distinct_ids(fact.c.release_id).label("_releases"),
                func.count(time.distinct()).label("_years"),
                func.min(time).label("_first"), func.max(time).label("_last")]
    out.append(func.count().label("_facts"))
    if window:
        out.append(func.count().over().label("_total"))
    return out


def conditions(spec: QuerySpec, family: Family, catalog: Catalog, fact: Any) -> list[Any]:
    """WHERE: current figures of the family (or those of the vintage asked for), the filters,
    the defaults, the period."""
    dataset = spec.dataset
    out = [catalog.live(dataset, fact, family.key)]
    if dataset.family_column:
        out.append(fact.c[dataset.family_column] == family.key)
    for dim in dataset.dimensions:
        given = spec.filters.get(dim.name)
        if given is not None:
            out.append(dim.shape.condition(fact, given.values, catalog))
        elif dim.name in spec.group_by:
            if dim.grouped is not None:
                out.append(dim.grouped(fact))
        elif dim.default is not None:
            out.append(dim.shape.condition(fact, dim.default, catalog))
    out.extend(dataset.time.conditions(spec.period, fact))
    return out


def figure_select(spec: QuerySpec, family: Family, catalog: Catalog, measure: str,
                  index: int, *, use_rollups: bool = True) -> Select:
    """One total figure as a row (index, value, bookkeeping), for a batch of figures of any
    dataset: every select of the batch has the same columns."""
    dataset = spec.dataset
    rollup = (rollup_for(dataset, spec.used, catalog.rollups.get(dataset.name))
              if use_rollups else None)
    fact = dataset.rollup_table if rollup else dataset.table
    where = conditions(spec, family, catalog, fact)
    if rollup:
        where.append(fact.c.rollup == rollup)
    if dataset.revision == "cell":
        time = fact.c[dataset.time.column]
        cells = [distinct_ids(fact.c.release_id), func.count(time.distinct()), func.min(time),
                 func.max(time)]
    else:
        cells = [cast(null(), String), cast(null(), Integer), cast(null(), Integer),
                 cast(null(), Integer)]
    names = ("_releases", "_years", "_first", "_last")
    aggregate = dataset.measure(measure).aggregate(fact)
    return (select(literal(index).label("figure"), cast(aggregate, Float).label("value"),
                   func.count().label("_facts"), *(c.label(n) for c, n in zip(cells, names, strict=True)))
            .select_from(fact).where(and_(*where)))


def figure_plan(spec: QuerySpec, family: Family, measure: str) -> Plan:
    """How to read a figure's row (no statement of its own: it runs in a batch)."""
    return Plan(spec=spec, family=family, statement=None, keys=(), measures=(measure,), rollup=None)
