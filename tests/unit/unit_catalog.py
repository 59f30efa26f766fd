"""A catalog built in memory for the unit tier (no database) from the reference lists in seed/ and
a few releases declared here, so parsing and planning can be checked in milliseconds."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path

from app import periods
from app.query.catalog import AreaInfo, Catalog, DrugInfo, ReleaseInfo, _ports
from app.vocabulary import slugify

SEED = Path(__file__).resolve().parents[2] / "seed"


def _release(release_id: int, dataset: str, source: str, first: dt.date, last: dt.date,
             grain: str = "month") -> ReleaseInfo:
    return ReleaseInfo(
        id=release_id, dataset=dataset, source=source, title=source, publisher="test",
        file_name=f"{source}.csv", sha256=f"{release_id:064d}", row_count=1, grain=grain,
        period_start=first, period_end=last, dimensions=(), loaded_at=dt.datetime(2026, 1, 1),
        origin_url=None, citation=None, periods_new=0, periods_revised=0, periods_unchanged=0,
        periods_superseded=0)


@cache
def build_catalog() -> Catalog:
    """Seizures FY2019-FY2022, Southwest encounters FY2021-FY2022, the by-state file FY2020,
    the OHSS series FY2021 and overdose deaths 2019-2021 (the values are those families list)."""
    areas_seed = json.loads((SEED / "areas.json").read_text())["areas"]
    areas = [AreaInfo(id=i, slug=slugify(a["name"]), name=a["name"], kind=a["kind"],
                      component=a["component"], region=a["region"], states=tuple(sorted(a["states"])),
                      state_basis=a["state_basis"], abbreviation=a.get("abbreviation"),
                      aliases=tuple(a["aliases"]), note=a.get("note"))
             for i, a in enumerate(areas_seed, start=1)]
    drugs = [DrugInfo(id=i, slug=d["slug"], name=d["name"], source_name=d["source_name"],
                      aliases=tuple(d["aliases"]))
             for i, d in enumerate(json.loads((SEED / "drugs.json").read_text())["drugs"], start=1)]
    states = {s["code"]: s["name"] for s in json.loads((SEED / "states.json").read_text())["states"]}
    spans = {
        1: ("seizures", "cbp-seizures", dt.date(2018, 10, 1), dt.date(2022, 9, 1)),
        2: ("encounters", "cbp-sw-encounters", dt.date(2020, 10, 1), dt.date(2022, 9, 1)),
        3: ("encounters", "cbp-state-encounters", dt.date(2019, 10, 1), dt.date(2020, 9, 1)),
        4: ("encounters", "ohss-sector-encounters", dt.date(2020, 10, 1), dt.date(2021, 9, 1)),
    }
    releases = [_release(i, *span) for i, span in spans.items()]
    releases.append(_release(5, "overdose_deaths", "cdc-us-deaths", dt.date(2019, 1, 1),
                             dt.date(2021, 1, 1), "year"))
    current = {source: {m: i for m in periods.span(first, last)}
               for i, (_d, source, first, last) in spans.items()}
    current["overdose_deaths"] = {dt.date(y, 1, 1): 5 for y in (2019, 2020, 2021)}
    sectors = frozenset(a.id for a in areas if a.kind == "sector" and a.region == "Southwest Border")
    vocabulary = {
        1: {"drug": frozenset(d.id for d in drugs), "area": frozenset(a.id for a in areas),
            "component": frozenset({"OFO", "USBP"}),
            "region": frozenset({"Southwest Border", "Northern Border", "Coastal/Interior"}),
            "land_filter": frozenset({"Land Only", "Other"})},
        2: {"component": frozenset({"OFO", "USBP"}), "region": frozenset({"Southwest Border"}),
            "citizenship": frozenset({"MEXICO", "GUATEMALA", "OTHER (cbp-sw-encounters)"}),
            "demographic": frozenset({"Single Adults"}), "title_of_authority": frozenset({"Title 8"}),
            "encounter_type": frozenset({"Apprehensions"})},
        3: {"region": frozenset({"Southwest Border", "Northern Border"}),
            "state": frozenset({"TX", "AZ"}),
            "citizenship": frozenset({"MEXICO", "CUBA", "OTHER (cbp-state-encounters)"}),
            "demographic": frozenset({"Single Adults"}), "title_of_authority": frozenset({"Title 8"})},
        4: {"component": frozenset({"USBP"}), "region": frozenset({"Southwest Border"}),
            "area": sectors},
        5: {"category": frozenset({"Total", "Heroin"}), "sex": frozenset({"all"})},
    }
    values: dict[tuple[str, str], set] = {}
    for release in releases:
        for dim, found in vocabulary[release.id].items():
            if dim not in ("area", "drug"):
                values.setdefault((release.dataset, dim), set()).update(found)
    return Catalog(
        version=1, fingerprint="unit", areas=areas, drugs=drugs, states=states, releases=releases,
        current=current, values={k: sorted(v) for k, v in values.items()}, vocabulary=vocabulary,
        ports=_ports({a.slug: a.id for a in areas}))
