"""Reference listings built from the catalog (and one query for seizure events)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.datasets import DATASETS, GRAIN_DESCRIPTIONS
from app.datasets.values import Context
from app.errors import InvalidParameter
from app.models import SeizureEvent
from app.periods import month_text
from app.query.catalog import Catalog, PortInfo
from app.query.parse import resolve_filters, split_list
from app.render.meta import release_period, release_summary
from app.vocabulary import slugify


def areas(catalog: Catalog, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Areas matching state / component / region / kind filters, by slug."""
    rows = []
    for area in catalog.areas:
        if "state" in filters and not set(area.states) & set(filters["state"]):
            continue
        if "component" in filters and area.component not in filters["component"]:
            continue
        if "region" in filters and area.region not in filters["region"]:
            continue
        if "kind" in filters and area.kind != filters["kind"]:
            continue
        rows.append({
            "slug": area.slug, "name": area.name, "kind": area.kind, "component": area.component,
            "region": area.region, "states": list(area.states), "state_basis": area.state_basis,
            "abbreviation": area.abbreviation, "aliases": list(area.aliases), "note": area.note,
            "ports_of_entry": [p.name for p in catalog.ports_of(area.id)],
        })
    return rows


def releases(catalog: Catalog, dataset: str | None) -> list[dict[str, Any]]:
    """Every release, newest first, with what it revised."""
    rows = []
    for release in sorted(catalog.releases, key=lambda r: r.id, reverse=True):
        if dataset and release.dataset != dataset:
            continue
        periods = catalog.revisions.get(release.id, [])
        row = release_summary(release)
        row.update({
            "dataset": release.dataset,
            "row_count": release.row_count,
            "grain": release.grain,
            "dimensions": list(release.dimensions),
            "citation": release.citation,
            "periods_new": release.periods_new,
            "periods_revised": release.periods_revised,
            "periods_unchanged": release.periods_unchanged,
            "periods_superseded": release.periods_superseded,
            "revised_periods": [release_period(release, p) for p, s in periods
                                if s == "revised"],
            "superseded_periods": [release_period(release, p) for p, s in periods
                                   if s == "superseded"],
            "current_periods": catalog.current_counts.get(release.id, 0),
        })
        rows.append(row)
    return rows


def datasets(catalog: Catalog) -> list[dict[str, Any]]:
    """The registry, with accepted values and coverage from the loaded data."""
    out = []
    for dataset in DATASETS.values():
        dims = []
        for dim in dataset.dimensions:
            ctx = Context(catalog=catalog, dataset=dataset.name, dimension=dim.name)
            dims.append({"name": dim.name, "synonyms": list(dim.synonyms),
                         "description": dim.description, "values": dim.values.listing(ctx)})
        sources = []
        for family in dataset.families:
            months = catalog.coverage(family.key)
            sources.append({
                "key": family.key, "title": family.title, "dimensions": sorted(family.dimensions),
                "only_region": sorted(family.only["region"]) if "region" in family.only else None,
                "only_component": (sorted(family.only["component"]) if "component" in family.only
                                   else None),
                "exact": family.exact, "caveat": family.caveat,
                "loaded": bool(months),
                "coverage": {"first_month": month_text(months[0]), "last_month": month_text(months[-1]),
                             "months": len(months)} if months else None,
                "values": _family_values(catalog, dataset, family.key, sorted(family.dimensions)),
                "catch_all": _catch_all(catalog, family.key),
            })
        entry: dict[str, Any] = {
            "name": dataset.name, "path": dataset.path, "title": dataset.title,
            "description": dataset.description,
            "measures": [{"name": m.name, "unit": m.unit, "description": m.description}
                         for m in dataset.measures],
            "dimensions": dims,
            "grains": [{"name": g, "description": GRAIN_DESCRIPTIONS[g]} for g in dataset.time.grains],
            "sources": sources,
        }
        if dataset.time.unit == "year":
            years = catalog.coverage(dataset.families[0].key)
            entry["coverage"] = ({"first_year": years[0].year, "last_year": years[-1].year}
                                 if years else None)
        out.append(entry)
    return out


def _family_values(catalog: Catalog, dataset: Any, family: str,
                   dimensions: list[str]) -> dict[str, list]:
    """The values each dimension takes in a family's current releases (what it can answer)."""
    out = {}
    for name in dimensions:
        dim = dataset.dimension(name)
        values = catalog.carried(family, name)
        if values:
            out[name] = sorted(str(dim.values.show(v, catalog)) for v in values)
    return out


def _catch_all(catalog: Catalog, family: str) -> list[dict[str, Any]]:
    """A family's catch-all buckets ("OTHER (family)"): what each stands for, from its values."""
    out = []
    for dim in ("citizenship",):
        values = sorted(catalog.carried(family, dim))
        buckets = [v for v in values if v.endswith(f"({family})")]
        listed = [v for v in values if v not in buckets]
        for bucket in buckets:
            out.append({
                "dimension": dim, "value": bucket, "slug": slugify(bucket),
                "definition": f"every {dim} other than the {len(listed)} that {family} lists "
                              f"separately ({', '.join(listed)}); not comparable with another "
                              "family's catch-all, which leaves out other values",
            })
    return out


def event_filters(catalog: Catalog, raw: dict[str, str]) -> dict[str, Any]:
    """Validate /seizure-events filters with the same rules as the data endpoints."""
    out: dict[str, Any] = {}
    wanted = {k: raw[k] for k in ("state", "drug") if k in raw}
    if wanted:
        spec = resolve_filters(DATASETS["seizures"], wanted, catalog)
        out.update({dim: f.values for dim, f in spec.filters.items()})
    if "port" in raw:
        out["port"] = [_port(catalog, token).name for token in split_list([raw["port"]])]
    for name in ("from", "to"):
        if name in raw:
            try:
                out[name] = dt.date.fromisoformat(raw[name])
            except ValueError:
                raise InvalidParameter(name, raw[name], f"{name} must be a date YYYY-MM-DD") from None
    if "from" in out and "to" in out and out["from"] > out["to"]:
        raise InvalidParameter("from", raw["from"], "from is after to")
    return out


def _port(catalog: Catalog, token: str) -> PortInfo:
    """A port of entry by name, crossing or slug (seed/ports.json), or a 422 listing them."""
    port = catalog.port_named(slugify(token))
    if port is None:
        names = [p.slug for p in catalog.ports]
        raise InvalidParameter("port", token, f"unknown port of entry {token!r} (see the "
                               "ports_of_entry of each field office in /areas)", names)
    return port


async def seizure_events(conn: AsyncConnection, catalog: Catalog,
                         filters: dict[str, Any]) -> list[dict[str, Any]]:
    table = SeizureEvent.__table__
    query = select(table).order_by(table.c.event_date, table.c.slug)
    if "state" in filters:
        query = query.where(table.c.state.in_(filters["state"]))
    if "drug" in filters:
        query = query.where(table.c.drug_id.in_(filters["drug"]))
    if "from" in filters:
        query = query.where(table.c.event_date >= filters["from"])
    if "to" in filters:
        query = query.where(table.c.event_date <= filters["to"])
    rows = []
    for event in (await conn.execute(query)).mappings():
        if "port" in filters and event["port_of_entry"] not in filters["port"]:
            continue
        area = catalog.area_by_id.get(event["area_id"])
        drug = catalog.drug_by_id.get(event["drug_id"])
        rows.append({
            "slug": event["slug"], "event_date": event["event_date"].isoformat(),
            "date_precision": event["date_precision"], "place": event["place"],
            "port_of_entry": event["port_of_entry"], "area": area.slug if area else None,
            "state": event["state"], "drug": drug.slug if drug else None,
            "quantity_lbs": event["quantity_lbs"], "quantity_qualifier": event["quantity_qualifier"],
            "reported_value_usd": event["reported_value_usd"],
            "value_qualifier": event["value_qualifier"], "description": event["description"],
            "source": event["source"], "source_url": event["source_url"],
        })
    return rows
