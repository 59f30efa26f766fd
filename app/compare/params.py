"""Flat query parameters of the /comparisons endpoints: named bases, part_* / base_* layers and
compact periods (FY2021, 2021-10..2022-04)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.datasets import Dataset
from app.errors import InvalidParameter

BASES: dict[str, dict[str, str]] = {
    "nationwide": {},
    "southwest": {"region": "southwest"},
    "southwest-ofo": {"region": "southwest", "component": "ofo"},
    "southwest-usbp": {"region": "southwest", "component": "usbp"},
    "ofo": {"component": "ofo"},
    "usbp": {"component": "usbp"},
}
PERIOD_FORMS = ["FY2021", "2021", "2021-10", "2021-10..2022-04", "2019..2021"]


_FY = re.compile(r"^FY(\d{4})$", re.IGNORECASE)
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def period_params(dataset: Dataset, text: str, name: str) -> dict[str, str]:
    """Turn `FY2021`, `2021`, `2021-10` or a range `a..b` into the data endpoint's period filters."""
    value = text.strip()
    start, _, end = value.partition("..")
    monthly = dataset.time.unit == "month"
    if _FY.match(value) and monthly:
        return {"fiscal_year": value[2:]}
    if _YEAR.match(value):
        return {"calendar_year" if monthly else "year": value}
    if _MONTH.match(value) and monthly:
        return {"month": value}
    if end and _MONTH.match(start) and _MONTH.match(end) and monthly:
        return {"from": start, "to": end}
    if end and _YEAR.match(start) and _YEAR.match(end):
        return {"from": f"{start}-01", "to": f"{end}-12"} if monthly else {"from": start, "to": end}
    forms = PERIOD_FORMS if monthly else ["2021", "2019..2021"]
    raise InvalidParameter(name, text, f"{name} must be a period written like "
                           + ", ".join(forms) + ("" if monthly else " (overdose deaths are annual)"),
                           forms)


@dataclass(frozen=True)
class ShareQuery:
    """A share request split into its measure and its three layers of filters."""

    measure: str
    common: dict[str, str]
    base: dict[str, str]
    part: dict[str, str]
    base_preset: str | None


def share_query(params: dict[str, str], *, default_measure: str) -> ShareQuery:
    """Split flat parameters: `part_*` (the part), `base_*` or `base` (the base), the rest common."""
    common, base, part = {}, {}, {}
    for name, value in params.items():
        if name in ("format", "bom", "measure", "base"):
            continue
        if name.startswith("part_"):
            part[name.removeprefix("part_")] = value
        elif name.startswith("base_"):
            base[name.removeprefix("base_")] = value
        else:
            common[name] = value
    preset = params.get("base")
    if preset is not None:
        if preset not in BASES:
            raise InvalidParameter("base", preset, f"unknown base {preset!r}", list(BASES))
        for name in base:
            if name in BASES[preset]:
                raise InvalidParameter(f"base_{name}", base[name], f"base={preset} already sets "
                                       "the base; give base_* filters without it")
        base = {**BASES[preset], **base}
    return ShareQuery(measure=params.get("measure", default_measure), common=common, base=base,
                      part=part, base_preset=preset)
