"""One path from a validated QuerySpec to figures: choose the source, build one SELECT, run it.

The SELECT aggregates in SQL (never in Python), returns the total number of groups with a window
function and the releases behind each group, so a data request costs one statement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Select, String, case, cast, extract, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app import periods, rollups
from app.catalog import Catalog, ReleaseInfo
from app.datasets import LBS_TO_KG, Dataset, Source
from app.errors import UnsupportedCombination
from app.models import Area, Drug
from app.params import QuerySpec, category_slug


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


# --- source choice (encounters) -----------------------------------------------------------------

def _scope_problem(spec: QuerySpec, source: Source, catalog: Catalog) -> str | None:
    """Why `source` cannot answer `spec` (None: it can)."""
    used = set(spec.filters) | set(spec.group_by)
    missing = sorted(used - source.dimensions)
    if missing:
        return f"has no {', '.join(missing)} dimension"
    if source.regions is not None:
        regions = set(spec.filters.get("region", ()))
        if not regions or not regions <= source.regions:
            return f"covers only region {', '.join(sorted(source.regions))} (add region=southwest)"
    if source.components is not None:
        components = _implied_components(spec, catalog)
        if components is None or not components <= source.components:
            wanted = ", ".join(sorted(c.lower() for c in source.components))
            return f"covers only component {wanted} (add component={wanted})"
    return None


def _implied_components(spec: QuerySpec, catalog: Catalog) -> set[str] | None:
    if "component" in spec.filters:
        return set(spec.filters["component"])
    if "area" in spec.filters:
        return {catalog.area_by_id[i].component for i in spec.filters["area"]}
    if spec.via.get("area") == "sector":
        return {"USBP"}
    return None


def wanted_values(spec: QuerySpec) -> dict[str, tuple]:
    """The filter values a family must carry to answer `spec` (stored columns only: a seizure's
    state stands for its areas and is checked through them)."""
    if spec.dataset.time != "month":
        return {}
    derived = {"state"} if spec.dataset.name == "seizures" else set()
    return {dim: values for dim, values in spec.filters.items() if dim not in derived}


def choose_source(spec: QuerySpec, catalog: Catalog) -> Source:
    """The release family that has every requested dimension, covers the requested scope and
    carries every requested value; among those, the one carrying them in every requested month."""
    dataset = spec.dataset
    loaded = catalog.sources_loaded()
    if len(dataset.sources) == 1:
        return dataset.sources[0]
    candidates = [s for s in dataset.sources if s.key in loaded]
    if spec.source:
        source = next(s for s in dataset.sources if s.key == spec.source)
        problem = "is not loaded" if source.key not in loaded else _scope_problem(spec, source, catalog)
        if problem:
            raise UnsupportedCombination(
                f"source {source.key} {problem}", parameter="source", value=source.key,
                combinable=_combinable(candidates),
            )
        return source
    fitting = [s for s in candidates if _scope_problem(spec, s, catalog) is None]
    if not fitting:
        reasons = {s.key: _scope_problem(spec, s, catalog) for s in candidates}
        requested = sorted(set(spec.filters) | set(spec.group_by))
        raise UnsupportedCombination(
            "no loaded release carries "
            + (", ".join(requested) if requested else "this scope")
            + " together; see 'combinable' for the dimensions each release has",
            requested=requested, reasons=reasons, combinable=_combinable(candidates),
        )
    wanted = wanted_values(spec)
    carrying = [s for s in fitting if not _values_missing(catalog, s, wanted)]
    if not carrying:
        raise _never_answerable(spec, catalog, fitting, candidates, wanted)
    months = requested_months(spec, catalog, carrying[0])
    if spec.period.is_bounded() and months:
        for source in carrying:
            held = set(catalog.months_carrying(source.key, wanted))
            if all(m in held for m in months):
                return source
        for source in carrying:
            held = set(catalog.months_carrying(source.key, wanted))
            if any(m in held for m in months):
                return source
    return carrying[0]


def _values_missing(catalog: Catalog, source: Source, wanted: dict[str, tuple]) -> dict[str, list]:
    """Requested values the family never carries (dimension -> values)."""
    missing = {}
    for dim, values in wanted.items():
        absent = [v for v in values if v not in catalog.carried(source.key, dim)]
        if absent:
            missing[dim] = absent
    return missing


def _never_answerable(spec: QuerySpec, catalog: Catalog, fitting: list[Source],
                      candidates: list[Source], wanted: dict[str, tuple]) -> UnsupportedCombination:
    """A 422 saying which requested value no fitting family carries, and who has it."""
    missing = _values_missing(catalog, fitting[0], wanted)
    dim, values = next(iter(missing.items()))
    shown = describe_value(spec, catalog, dim, values[0])
    holders = [s.key for s in candidates if values[0] in catalog.carried(s.key, dim)]
    requested = sorted(set(spec.filters) | set(spec.group_by))
    where = (f"; only {', '.join(holders)} publishes it, and it does not carry "
             f"{', '.join(requested)} together" if holders else "")
    return UnsupportedCombination(
        f"{dim.replace('_', ' ')} {shown!r} is not published by any loaded release family that "
        f"can answer this request{where}",
        parameter=spec.via.get(dim, dim), value=shown, requested=requested,
        carried_by=holders, combinable=_combinable(candidates))


def describe_value(spec: QuerySpec, catalog: Catalog, dim: str, value: Any) -> str:
    """A canonical filter value as users read it (areas and drugs by slug)."""
    if dim == "area":
        return catalog.area_by_id[value].slug
    if dim == "drug":
        return catalog.drug_by_id[value].slug
    return str(value)


def _combinable(sources: list[Source]) -> dict[str, dict[str, Any]]:
    out = {}
    for s in sources:
        scope: dict[str, Any] = {"dimensions": sorted(s.dimensions)}
        if s.regions:
            scope["only_region"] = sorted(s.regions)
        if s.components:
            scope["only_component"] = sorted(s.components)
        out[s.key] = scope
    return out


def requested_months(spec: QuerySpec, catalog: Catalog, source: Source) -> list[dt.date]:
    """Every month the period filter asks for: whole fiscal / calendar years and listed months;
    an open end of a from/to range stops at the span the dataset's releases cover, and no period
    at all asks for every month the answering family covers."""
    first, last = spec.period.bounds()
    if first is None and last is None and not spec.period.months:
        known = catalog.coverage(source.key)
    elif first is None or last is None:
        known = sorted({m for s in spec.dataset.sources for m in catalog.current.get(s.key, {})})
    else:
        known = [first, last]
    if not known:
        return []
    first = first or known[0]
    last = last or known[-1]
    return [m for m in periods.span(first, last) if spec.period.contains(m)]


# --- SELECT -------------------------------------------------------------------------------------

@dataclass
class Plan:
    spec: QuerySpec
    source: Source
    revision_key: str
    statement: Select
    key_columns: list[str]
    measure_columns: list[str]


def revision_key(dataset: Dataset, source: Source) -> str:
    return "overdose_deaths" if dataset.time == "year" else source.key


def plan(spec: QuerySpec, catalog: Catalog, *, use_rollups: bool = True) -> Plan:
    """Build the single SELECT that answers `spec` (from a rollup when one holds its dimensions)."""
    dataset = spec.dataset
    source = choose_source(spec, catalog) if dataset.sources else Source(
        key=dataset.name, title=dataset.title, dimensions=frozenset(d.name for d in dataset.dimensions))
    fact = dataset.table
    used = set(spec.filters) | set(spec.group_by)
    if dataset.name == "seizures" and "state" in used:
        used = (used - {"state"}) | {"area"}  # a seizure's state is its area's
    rollup = rollups.best_rollup(dataset.name, used) if use_rollups else None
    if rollup is not None:
        fact = rollups.TABLES[dataset.name][1]
    columns: list = []
    key_columns: list[str] = []
    joins: dict = {}  # table -> ON clause: each joined table once
    for dim in spec.group_by:
        for label, expression, join in _dimension_columns(dataset, dim, fact):
            columns.append(expression.label(label))
            key_columns.append(label)
            if join is not None:
                joins.setdefault(join[0], join[1])
    grain_expr = None
    if spec.grain:
        grain_expr = _grain_expression(spec.grain, fact).label(spec.grain)
        columns.append(grain_expr)
        key_columns.append(spec.grain)
    measures = _measure_columns(dataset, fact)
    columns.extend(measures)
    if dataset.time == "year":
        # Deaths are current cell by cell, so the releases behind a group come from the rows.
        # Monthly data are current month by month: the catalog knows each month's release.
        columns.append(distinct_ids(fact.c.release_id).label("_releases"))
    columns.append(func.count().label("_facts"))
    if dataset.time == "year":
        columns.append(func.count(fact.c.year.distinct()).label("_years"))
        columns.append(func.min(fact.c.year).label("_first"))
        columns.append(func.max(fact.c.year).label("_last"))
    columns.append(func.count().over().label("_total"))

    statement = select(*columns).select_from(fact)
    for table, on in joins.items():
        statement = statement.join(table, on)
    statement = statement.where(*_where(spec, source, catalog, fact))
    if rollup is not None:
        statement = statement.where(fact.c.rollup == rollup.key)
    group_exprs = [c for c in columns if c.name in key_columns]
    if group_exprs:
        statement = statement.group_by(*(c.element for c in group_exprs))
    by_label = {c.name: c for c in columns}
    order = []
    for name, descending in spec.sort:
        column = by_label[name]
        order.append((column.desc() if descending else column.asc()).nulls_last())
    for name in key_columns:  # tie-break on every key: a total order makes paging stable
        if name not in {n for n, _ in spec.sort}:
            order.append(by_label[name].asc().nulls_last())
    if order:
        statement = statement.order_by(*order)
    statement = statement.limit(spec.limit).offset(spec.offset)
    return Plan(spec=spec, source=source, revision_key=revision_key(dataset, source),
                statement=statement, key_columns=key_columns,
                measure_columns=[m.name for m in measures])


def _dimension_columns(dataset: Dataset, dim: str, fact):
    area, drug = Area.__table__, Drug.__table__
    if dim in ("area", "state") and "area_id" in fact.c:
        area_join = (area, area.c.id == fact.c.area_id)
    if dim == "area":
        return [("area", area.c.slug, area_join), ("area_name", area.c.name, area_join)]
    if dim == "drug":
        join = (drug, drug.c.id == fact.c.drug_id)
        return [("drug", drug.c.slug, join), ("drug_name", drug.c.name, join)]
    if dim == "state":
        if dataset.name == "seizures":
            return [("state", area.c.states, area_join)]
        if dataset.name == "overdose_deaths":
            return [("state", func.coalesce(fact.c.state, literal("US")), None)]
        return [("state", fact.c.state, None)]
    if dim == "category":
        return [("category", fact.c.category, None)]
    return [(dim, fact.c[dim], None)]


def _grain_expression(grain: str, fact):
    if grain == "year":
        return fact.c.year
    if grain == "month":
        return fact.c.period
    if grain == "fiscal_year":
        return fact.c.fiscal_year
    year = cast(extract("year", fact.c.period), Integer)
    month = cast(extract("month", fact.c.period), Integer)
    if grain == "calendar_year":
        return year
    if grain == "quarter":
        return year * 10 + (month + 2) // 3
    # fiscal_quarter: October-December is Q1 of the next fiscal year
    return fact.c.fiscal_year * 10 + ((month + 2) % 12) // 3 + 1


def _measure_columns(dataset: Dataset, fact) -> list:
    if dataset.name == "seizures":
        lbs = func.sum(fact.c.quantity_lbs)
        return [lbs.label("quantity_lbs"), (lbs * LBS_TO_KG).label("quantity_kg"),
                func.sum(fact.c.event_count).label("event_count")]
    if dataset.name == "encounters":
        return [func.sum(fact.c.encounter_count).label("encounter_count")]
    # A rate is meaningful for one published row; a sum of rows has none.
    return [func.sum(fact.c.deaths).label("deaths"),
            case((func.count() == 1, func.max(fact.c.rate)), else_=None).label("rate")]


def _where(spec: QuerySpec, source: Source, catalog: Catalog, fact) -> list:
    conditions = [fact.c.is_current.is_(True)]
    dataset = spec.dataset
    if dataset.name == "encounters":
        conditions.append(fact.c.source == source.key)
    for dim, values in spec.filters.items():
        if dim == "state" and dataset.name == "seizures":
            ids = [a.id for a in catalog.areas if set(a.states) & set(values)]
            conditions.append(fact.c.area_id.in_(ids))
        elif dim == "state" and dataset.name == "overdose_deaths":
            codes = [v for v in values if v is not None]
            clause = fact.c.state.in_(codes) if codes else None
            if None in values:
                clause = fact.c.state.is_(None) if clause is None else (clause | fact.c.state.is_(None))
            conditions.append(clause)
        elif dim in ("area", "drug"):
            conditions.append(fact.c[f"{dim}_id"].in_(values))
        else:
            conditions.append(fact.c[dim].in_(values))
    if dataset.name == "overdose_deaths":
        # National, total, both sexes unless the request filters or groups by that dimension.
        if "state" not in spec.filters and "state" not in spec.group_by:
            conditions.append(fact.c.state.is_(None))
        if "state" in spec.group_by and "state" not in spec.filters:
            conditions.append(fact.c.state.is_not(None))
        if "category" not in spec.filters and "category" not in spec.group_by:
            conditions.append(fact.c.category == "Total")
        if "sex" not in spec.filters and "sex" not in spec.group_by:
            conditions.append(fact.c.sex == "all")
        if spec.years:
            conditions.append(fact.c.year.in_(spec.years))
        if spec.year_from is not None:
            conditions.append(fact.c.year >= spec.year_from)
        if spec.year_to is not None:
            conditions.append(fact.c.year <= spec.year_to)
        return conditions
    period = spec.period
    if period.fiscal_years:
        conditions.append(fact.c.fiscal_year.in_(period.fiscal_years))
    if period.calendar_years:
        conditions.append(cast(extract("year", fact.c.period), Integer).in_(period.calendar_years))
    if period.months:
        conditions.append(fact.c.period.in_(period.months))
    if period.start:
        conditions.append(fact.c.period >= period.start)
    if period.end:
        conditions.append(fact.c.period <= period.end)
    return conditions


# --- running ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Summed:
    """The months (or years) whose figures an answer adds up."""

    first: dt.date
    last: dt.date
    count: int
    grain: str  # "month" or "year"

    def document(self) -> dict[str, Any]:
        if self.grain == "year":
            return {"first_year": self.first.year, "last_year": self.last.year, "years": self.count}
        return {"first_month": f"{self.first:%Y-%m}", "last_month": f"{self.last:%Y-%m}",
                "months": self.count}


@dataclass
class QueryResult:
    """Figures and everything needed to describe them."""

    spec: QuerySpec
    source: Source
    columns: list[str]
    rows: list[dict[str, Any]]
    total_rows: int
    releases: list[ReleaseInfo]
    coverage: tuple[dt.date, dt.date] | None
    complete: bool
    summed: Summed | None = None
    months: tuple[dt.date, ...] = ()  # monthly data: every month the figures add up
    caveats: list[str] = field(default_factory=list)


async def run(conn: AsyncConnection, spec: QuerySpec, catalog: Catalog) -> QueryResult:
    """Answer a spec with one SQL statement."""
    the_plan = plan(spec, catalog)
    result = await conn.execute(the_plan.statement)
    raw_rows = result.mappings().all()
    shaped = shape(the_plan, raw_rows, catalog)
    if not raw_rows and spec.offset > 0:
        # A page past the end has no row to carry the window count: count the groups instead.
        groups = the_plan.statement.limit(None).offset(None).order_by(None).subquery()
        shaped.total_rows = int(await conn.scalar(select(func.count()).select_from(groups)))
    return shaped


def shape(the_plan: Plan, raw_rows, catalog: Catalog) -> QueryResult:
    spec = the_plan.spec
    monthly = spec.dataset.time == "month"
    coverage_months = catalog.current.get(the_plan.revision_key, {})
    covered = sorted(coverage_months)
    # Months the family answers for and whose release carries every requested value: the
    # figures of other months are not published (no data), not zero.
    carrying = (catalog.months_carrying(the_plan.revision_key, wanted_values(spec)) if monthly
                else covered)
    # Months both in the data and in the request: a row's period is complete when it has them all.
    usable = frozenset(m for m in carrying if _in_request(spec, m))
    release_ids: set[int] = set()
    rows: list[dict[str, Any]] = []
    total = 0
    per_row_releases = not monthly
    first_year = last_year = None
    for raw in raw_rows:
        total = raw["_total"]
        if per_row_releases and raw["_releases"]:
            release_ids.update(int(x) for x in str(raw["_releases"]).split(","))
        if not monthly and raw["_facts"]:
            first_year = min(first_year or raw["_first"], raw["_first"])
            last_year = max(last_year or raw["_last"], raw["_last"])
        row: dict[str, Any] = {}
        for name in the_plan.key_columns:
            row[name] = _format_key(name, raw[name])
            if name == "category":
                row["category_name"] = raw[name]
                row[name] = category_slug(raw[name])
        for name in the_plan.measure_columns:
            # No published row is no data (null), never a zero: only a published zero is 0.
            row[name] = _format_measure(name, raw[name]) if raw["_facts"] else None
        if spec.grain:
            row["period_complete"] = usable.issuperset(periods.grain_months(spec.grain, raw[spec.grain]))
        rows.append(row)
    has_data = any(raw["_facts"] for raw in raw_rows)
    if monthly and has_data:
        release_ids.update(coverage_months[m] for m in usable)
    columns = _output_columns(the_plan)
    if monthly:
        complete = _request_complete(spec, usable, catalog, the_plan.source)
        summed_months = sorted(usable) if has_data else []
        summed = (Summed(summed_months[0], summed_months[-1], len(summed_months), "month")
                  if summed_months else None)
    else:
        complete = _deaths_complete(spec, raw_rows, covered)
        summed_months = []
        summed = _years_summed(spec, covered, first_year, last_year)
    return QueryResult(
        spec=spec, source=the_plan.source, columns=columns, rows=rows, total_rows=total,
        releases=[catalog.release_by_id[i] for i in sorted(release_ids) if i in catalog.release_by_id],
        coverage=(covered[0], covered[-1]) if covered else None, complete=complete,
        summed=summed, months=tuple(summed_months),
        caveats=_caveats(spec, the_plan.source, rows, complete, covered, catalog, summed),
    )


def _years_summed(spec: QuerySpec, covered: list[dt.date], first: int | None,
                  last: int | None) -> Summed | None:
    if first is None or last is None:
        return None
    years = [m for m in covered if first <= m.year <= last and _in_request(spec, m)]
    return Summed(dt.date(first, 1, 1), dt.date(last, 1, 1), len(years), "year") if years else None


def _output_columns(the_plan: Plan) -> list[str]:
    columns = []
    for name in the_plan.key_columns:
        columns.append(name)
        if name == "category":
            columns.append("category_name")
    columns.extend(the_plan.measure_columns)
    if the_plan.spec.grain:
        columns.append("period_complete")
    return columns


def _format_key(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "month":
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return f"{value:%Y-%m}"
    if name == "quarter":
        return f"{value // 10}-Q{value % 10}"
    if name == "fiscal_quarter":
        return f"FY{value // 10}-Q{value % 10}"
    return value


def _format_measure(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in {"quantity_lbs", "quantity_kg"}:
        # Ten significant digits: the precision of CBP's own releases, and free of the float
        # noise that differs with the order a database adds rows in.
        return float(f"{float(value):.10g}")
    if name == "rate":
        return float(value)
    return int(value)


def _in_request(spec: QuerySpec, month: dt.date) -> bool:
    if spec.dataset.time == "year":
        year = month.year
        return ((not spec.years or year in spec.years)
                and (spec.year_from is None or year >= spec.year_from)
                and (spec.year_to is None or year <= spec.year_to))
    return spec.period.contains(month)


def _request_complete(spec: QuerySpec, usable: frozenset[dt.date], catalog: Catalog,
                      source: Source) -> bool:
    """Every requested month is covered by the family and carries every requested value."""
    months = requested_months(spec, catalog, source)
    return bool(months) and all(m in usable for m in months)


def _requested_years(spec: QuerySpec, covered: list[dt.date]) -> set[int]:
    """The years asked for; no year filter asks for every year the data cover."""
    if spec.years:
        years = set(spec.years)
        if spec.year_from is not None:
            years = {y for y in years if y >= spec.year_from}
        if spec.year_to is not None:
            years = {y for y in years if y <= spec.year_to}
        return years
    known = [m.year for m in covered]
    if not known:
        return set()
    low = spec.year_from if spec.year_from is not None else known[0]
    high = spec.year_to if spec.year_to is not None else known[-1]
    return set(range(low, high + 1))


def _deaths_complete(spec: QuerySpec, raw_rows, covered: list[dt.date]) -> bool:
    """Every requested year has a published figure in every row (a death cell is either
    published or not: the files leave nothing out for being zero)."""
    years = _requested_years(spec, covered)
    if not years or not raw_rows or any(r["_facts"] == 0 for r in raw_rows):
        return False
    if spec.grain == "year":
        others = list(spec.group_by)
        seen: dict[tuple, set[int]] = {}
        for r in raw_rows:
            seen.setdefault(tuple(r[k] for k in others), set()).add(r["year"])
        return all(found >= years for found in seen.values())
    return all(r["_years"] == len(years) for r in raw_rows)


def _caveats(spec: QuerySpec, source: Source, rows: list[dict[str, Any]], complete: bool,
             covered: list[dt.date], catalog: Catalog, summed: Summed | None) -> list[str]:
    notes = list(spec.notes)
    monthly = spec.dataset.time == "month"
    if source.caveat:
        notes.append(source.caveat)
    if monthly:
        notes.extend(_carrying_notes(spec, source, catalog))
    if monthly and not spec.period.is_bounded() and summed is not None:
        notes.append(f"No period was given: the figures add up {summed.first:%Y-%m}.."
                     f"{summed.last:%Y-%m} ({summed.count} months), every month {source.key} "
                     "covers.")
    if covered and monthly and covered[-1].month != 9:
        last = covered[-1]
        partial_fy = periods.fiscal_year_of(last)
        partial_months = [m for m in covered if periods.fiscal_year_of(m) == partial_fy]
        if not spec.period.is_bounded() or any(spec.period.contains(m) for m in partial_months):
            notes.append(f"FY{partial_fy} is partial in {source.key}: data run through {last:%Y-%m} "
                         f"({len(partial_months)} of its 12 months).")
    if rows and all(all(r.get(m.name) is None for m in spec.dataset.measures) for r in rows):
        notes.append("No published figure matches this selection: the releases hold none for "
                     "it, so the figures are null (no data), not zero (see /datasets for what each "
                     "release family covers).")
    if complete is False:
        unit = "month" if monthly else "year"
        notes.append(f"The data do not cover every requested {unit}; figures are for the {unit}s "
                     "that are covered (see meta.period).")
    if spec.grain and any(r.get("period_complete") is False for r in rows):
        notes.append("Rows with period_complete=false cover only part of their period.")
    if spec.dataset.name == "seizures" and ("state" in spec.filters or "state" in spec.group_by):
        notes.append("Seizure states are those of the area of responsibility: El Paso covers NM "
                     "and TX and Yuma AZ and CA; areas away from the Southwest Border list only "
                     "the state of their headquarters (see /areas).")
    if spec.dataset.name == "overdose_deaths" and "category" in spec.group_by:
        notes.append("Drug categories overlap: a death involving several drugs counts in each.")
    return notes


def _carrying_notes(spec: QuerySpec, source: Source, catalog: Catalog) -> list[str]:
    """For each requested value that keeps the answer from covering every requested month and is
    published by some families only (or dropped by some releases): who publishes it, when."""
    notes = []
    requested = requested_months(spec, catalog, source)
    covered = catalog.current.get(source.key, {})
    loaded = [f for f in spec.dataset.sources if f.key in catalog.sources_loaded()]
    for dim, values in wanted_values(spec).items():
        for value in values:
            held = set(catalog.months_carrying(source.key, {dim: (value,)}))
            missing = [m for m in requested if m not in held]
            specific = any(dim in f.dimensions and value not in catalog.carried(f.key, dim)
                           for f in loaded)
            dropped = any(m in covered for m in missing)
            if not missing or not (specific or dropped):
                continue
            holders = [f"{f.key}, which covers {_spans(months)}" for f in loaded
                       if (months := catalog.months_carrying(f.key, {dim: (value,)}))]
            what = f"{dim.replace('_', ' ')} {describe_value(spec, catalog, dim, value)!r}"
            notes.append(f"{what} is published only in {'; and '.join(holders)}." if holders
                         else f"{what} is published by no loaded release family.")
    return notes


def _spans(months: list[dt.date]) -> str:
    """Consecutive months as ranges: 2019-10..2023-09, 2024-01..2024-03."""
    runs: list[list[dt.date]] = []
    for month in months:
        if runs and periods.next_month(runs[-1][-1]) == month:
            runs[-1].append(month)
        else:
            runs.append([month])
    return ", ".join(f"{r[0]:%Y-%m}..{r[-1]:%Y-%m}" for r in runs)
