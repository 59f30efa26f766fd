"""Names and aliases: how users spell the values the data hold, in one place.

Both sides use it: the ingest to match the files' spellings to reference ids, the API to read what
users type. Nothing here knows a dataset; the registry (app/datasets/) says which table applies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lower-case, ASCII letters and digits joined by single hyphens."""
    return _NOT_SLUG.sub("-", text.lower()).strip("-")


def spelling_index(named: Iterable[tuple[int, Iterable[str | None]]]) -> dict[str, int]:
    """Every spelling (slug, name, alias) of each id, slugified -> the id; the first wins."""
    index: dict[str, int] = {}
    for item_id, spellings in named:
        for spelling in spellings:
            if spelling:
                index.setdefault(slugify(spelling), item_id)
    return index


# Canonical value -> the spellings users type (slugified), for values with a fixed vocabulary.
COMPONENTS = {
    "OFO": ("ofo", "office-of-field-operations", "field-operations", "ports-of-entry",
            "port-of-entry", "ports", "poe"),
    "USBP": ("usbp", "u-s-border-patrol", "us-border-patrol", "border-patrol", "between-ports",
             "bp"),
}
REGIONS = {
    "Southwest Border": ("southwest", "southwest-border", "southwest-land-border", "sw", "swb"),
    "Northern Border": ("northern", "northern-border", "northern-land-border"),
    "Coastal/Interior": ("coastal-interior", "coastal", "interior", "other", "coastal-border"),
}
LAND_FILTERS = {"Land Only": ("land-only", "land"), "Other": ("other",)}
TITLES = {"Title 8": ("title-8", "8", "t8"), "Title 42": ("title-42", "42", "t42")}
DEMOGRAPHICS = {
    "Accompanied Minors": ("accompanied-minors",),
    "Family Unit Members (FMUA)": ("fmua", "family-units", "family-unit-members"),
    "Single Adults": ("single-adults",),
    "Unaccompanied Children (UC / UAC)": ("uc", "uac", "uc-single-minors",
                                          "unaccompanied-children"),
}
# The nation, where a state filter may also ask for it (overdose deaths).
NATIONAL = ("us", "usa", "united-states", "national", "nationwide")
NATIONAL_CODE = "US"

# Overdose-death categories: short slugs for the two users ask for most; others are the slug of
# the official name.
CATEGORY_SLUGS = {"Total": "total", "Synthetic Opioids (primarily fentanyl)": "synthetic-opioids"}
CATEGORY_ALIASES = {
    "all": "total", "all-drugs": "total", "total-overdose-deaths": "total",
    "fentanyl": "synthetic-opioids", "synthetic-opioids-primarily-fentanyl": "synthetic-opioids",
}


def category_slug(label: str) -> str:
    return CATEGORY_SLUGS.get(label, slugify(label))


def alias_table(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Spelling -> canonical value, for a fixed vocabulary (each value's slug included)."""
    out: dict[str, str] = {}
    for value, spellings in table.items():
        out.setdefault(slugify(value), value)
        for spelling in spellings:
            out.setdefault(spelling, value)
    return out


def catch_all(value: str, family: str) -> str:
    """A family's catch-all bucket takes the family's name: "OTHER" means all but the values that
    family lists, so the buckets of two families are different values."""
    return f"OTHER ({family})" if value == "OTHER" else value


def is_catch_all(value: str) -> bool:
    return value.startswith("OTHER (") and value.endswith(")")
