"""The `meta` block: what a response's figures are, where they come from, what to beware of."""

from __future__ import annotations

from typing import Any

from app.datasets.time import GRAIN_DESCRIPTIONS
from app.periods import month_text
from app.query.catalog import Catalog, ReleaseInfo
from app.query.result import QueryResult


def release_summary(release: ReleaseInfo) -> dict[str, Any]:
    """How a release is cited in every response."""
    return {
        "id": release.id,
        "source": release.source,
        "title": release.title,
        "publisher": release.publisher,
        "file_name": release.file_name,
        "sha256": release.sha256,
        "period_start": release_period(release, release.period_start),
        "period_end": release_period(release, release.period_end),
        "loaded_at": release.loaded_at.isoformat() if release.loaded_at else None,
        "origin_url": release.origin_url,
    }


def release_period(release: ReleaseInfo, value: Any) -> str:
    return str(value.year) if release.grain == "year" else month_text(value)


def version_meta(catalog: Catalog, permalink: str | None) -> dict[str, Any]:
    """Which data an answer comes from: the data version (None under as_of, which does not
    depend on it), the vintage asked for, and the request pinned to its vintage."""
    return {"data_version": None if catalog.vintage else catalog.version,
            "vintage": catalog.vintage.document() if catalog.vintage else None,
            "permalink": permalink}


def data_meta(result: QueryResult, catalog: Catalog, *, next_url: str | None,
              permalink: str | None = None) -> dict[str, Any]:
    """Meta of a data endpoint's answer."""
    spec = result.spec
    dataset = spec.dataset
    meta: dict[str, Any] = {
        "dataset": dataset.name,
        "filters": spec.understood(catalog),
        "group_by": list(spec.group_by),
        "grain": spec.grain,
        "grain_definition": GRAIN_DESCRIPTIONS.get(spec.grain) if spec.grain else None,
        "measures": {m.name: {"unit": m.unit, "description": m.description}
                     for m in dataset.measures},
        "sort": [("-" if desc else "") + name for name, desc in spec.sort],
        "row_count": len(result.rows),
        "total_rows": result.total_rows,
        "limit": spec.limit,
        "offset": spec.offset,
        "next": next_url,
    }
    if len(dataset.families) > 1:
        meta["source"] = {"key": result.family.key, "title": result.family.title,
                          "exact": result.family.exact}
    if result.coverage:
        first, last = result.coverage
        if dataset.time.unit == "year":
            meta["coverage"] = {"first_year": first.year, "last_year": last.year}
        else:
            meta["coverage"] = {"first_month": month_text(first), "last_month": month_text(last)}
    else:
        meta["coverage"] = None
    # The months (years) the figures actually add up: the request's, as far as the data go.
    meta["period"] = result.summed.document() if result.summed else None
    meta["complete"] = result.complete
    meta["releases"] = [release_summary(r) for r in result.releases]
    meta["caveats"] = result.caveats
    meta.update(version_meta(catalog, permalink))
    return meta
