"""Render comparison results as rows (JSON `data`, CSV) and a `meta` block naming every figure's
filters, request and releases."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.compare import SHARE_RULE, Change, Figure, GroupComparison, Share, ShareQuery
from app.compare.change import CHANGE_RULE
from app.datasets import DATASETS
from app.query.catalog import Catalog
from app.render.formats import Document
from app.render.meta import release_summary, version_meta

SHARE_COLUMNS = ["member", "name", "numerator", "denominator", "share", "request"]
GROUP_COLUMNS = ["group", "seizures", "seizures_southwest", "seizure_share", "encounters",
                 "encounters_southwest", "encounter_share", "ratio", "seizure_share_request",
                 "encounter_share_request", "note"]
SPLIT_COLUMNS = ["component", "name", "numerator", "denominator", "share", "request"]
CHANGE_COLUMNS = ["dataset", "measure", "before_period", "after_period", "before_value",
                  "after_value", "absolute_change", "percent_change", "like_for_like",
                  "months_compared", "before_request", "after_request", "note"]
RATIO_RULE = ("ratio = share of Southwest seizures / share of Southwest encounters, both in the "
              "same period: above 1 the group's seizures outweigh its encounters, below 1 the "
              "reverse.")
COMPONENT_NAMES = {"OFO": "Office of Field Operations (ports of entry)",
                   "USBP": "U.S. Border Patrol (between ports)"}


def share_document(share: Share, *, comparison: str, request: ShareQuery,
                   catalog: Catalog) -> Document:
    """Rows: the whole part, then each member; meta: both figures and how they were made."""
    names = " + ".join(m.name for m in share.members) or "the part"
    rows = [{"member": "total", "name": names, "numerator": share.numerator.value,
             "denominator": share.denominator.value, "share": share.value,
             "request": share.numerator.request}]
    rows += [{"member": m.member, "name": m.name, "numerator": m.value,
              "denominator": share.denominator.value, "share": m.share, "request": m.request}
             for m in share.members]
    meta = {
        "comparison": comparison,
        "measure": share.measure,
        "unit": _unit(share.dataset, share.measure),
        "filters": {"common": request.common, "part": request.part, "base": request.base,
                    "base_preset": request.base_preset},
        "share": share.value,
        "share_note": share.note,
        "numerator": share.numerator.document(),
        "denominator": share.denominator.document(),
        "request": share.request,
        "rule": SHARE_RULE,
        **_provenance(share.figures, catalog),
    }
    return Document(rows, meta, SHARE_COLUMNS)


def groups_document(groups: list[GroupComparison], *, measure: str, filters: dict[str, str],
                    catalog: Catalog) -> Document:
    """Rows: one per group of states; meta: each group's four figures and seizure areas."""
    rows, details = [], []
    for group in groups:
        s, e = group.seizures, group.encounters
        rows.append({
            "group": group.states, "seizures": s.numerator.value,
            "seizures_southwest": s.denominator.value, "seizure_share": s.value,
            "encounters": e.numerator.value, "encounters_southwest": e.denominator.value,
            "encounter_share": e.value, "ratio": group.ratio, "seizure_share_request": s.request,
            "encounter_share_request": e.request, "note": group.note or s.note or e.note,
        })
        details.append({
            "group": group.states,
            "seizures": {"numerator": s.numerator.document(), "denominator": s.denominator.document(),
                         "share": s.value, "note": s.note,
                         "areas": [_member(m) for m in s.members]},
            "encounters": {"numerator": e.numerator.document(),
                           "denominator": e.denominator.document(), "share": e.value,
                           "note": e.note, "states": [_member(m) for m in e.members]},
        })
    figures = [f for g in groups for f in (*g.seizures.figures, *g.encounters.figures)]
    provenance = _provenance(figures, catalog)
    provenance["caveats"] += _overlaps(groups)
    meta = {"comparison": "seizures-vs-encounters", "measure": measure,
            "unit": _unit("seizures", measure), "filters": filters, "groups": details,
            "rule": RATIO_RULE + " " + SHARE_RULE, **provenance}
    return Document(rows, meta, GROUP_COLUMNS)


def split_document(shares: list[Share], *, filters: dict[str, str],
                   catalog: Catalog) -> Document:
    """Rows: ports of entry (OFO) and Border Patrol (USBP), each with its share of the total."""
    rows = []
    for share in shares:
        key = share.part["component"].shown[0].upper()
        rows.append({"component": key, "name": COMPONENT_NAMES[key],
                     "numerator": share.numerator.value, "denominator": share.denominator.value,
                     "share": share.value, "request": share.numerator.request})
    total = shares[0].denominator
    figures = [total, *(s.numerator for s in shares)]
    meta = {"comparison": "ports-vs-between", "measure": shares[0].measure,
            "unit": _unit("seizures", shares[0].measure), "filters": filters,
            "total": total.document(),
            "components": {s.part["component"].shown[0].upper(): s.numerator.document() for s in shares},
            "share_note": shares[0].note, "rule": SHARE_RULE, **_provenance(figures, catalog)}
    return Document(rows, meta, SPLIT_COLUMNS)


def change_document(change: Change, *, dataset: str, measure: str, filters: dict[str, str],
                    catalog: Catalog) -> Document:
    """One row: the measure before and after, and the change."""
    row = {"dataset": dataset, "measure": measure, "before_period": change.before_period,
           "after_period": change.after_period, "before_value": change.before.value,
           "after_value": change.after.value, "absolute_change": change.absolute_change,
           "percent_change": change.percent_change, "like_for_like": change.like_for_like,
           "months_compared": change.months_compared,
           "before_request": change.before.request,
           "after_request": change.after.request, "note": change.note}
    meta = {"comparison": "change", "dataset": dataset, "measure": measure,
            "unit": _unit(dataset, measure), "filters": filters,
            "before": change.before.document(), "after": change.after.document(),
            "rule": CHANGE_RULE, **_provenance([change.before, change.after], catalog)}
    return Document([row], meta, CHANGE_COLUMNS)

def _member(member: Any) -> dict[str, Any]:
    return {"member": member.member, "name": member.name, "value": member.value,
            "share": member.share, "request": member.request}


def _unit(dataset: str, measure: str) -> str | None:
    found = DATASETS[dataset].measure(measure)
    return found.unit if found else None


def _provenance(figures: Iterable[Figure], catalog: Catalog) -> dict[str, Any]:
    figures = list(figures)
    releases = {r.id: r for f in figures for r in f.releases}
    caveats = list(dict.fromkeys(c for f in figures for c in f.caveats))
    sources = list(dict.fromkeys(f.source for f in figures if f.source))
    return {"sources": sources, "complete": _all_complete(figures),
            "releases": [release_summary(releases[i]) for i in sorted(releases)],
            "caveats": caveats, **version_meta(catalog, None)}


def _all_complete(figures: list[Figure]) -> bool | None:
    flags = [f.complete for f in figures]
    if any(flag is False for flag in flags):
        return False
    return True if flags and all(flags) else None


def _overlaps(groups: list[GroupComparison]) -> list[str]:
    """Areas counted in several groups (El Paso covers NM and TX, Yuma AZ and CA)."""
    seen: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for group in groups:
        for member in group.seizures.members:
            seen.setdefault(member.member, []).append(group.states)
            names[member.member] = member.name
    return [f"{names[area]} covers states of several groups ({'; '.join(found)}): its seizures "
            "count in each." for area, found in seen.items() if len(found) > 1]
