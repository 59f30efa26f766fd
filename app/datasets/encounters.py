"""Migrant encounters (CBP, DHS OHSS): several release families, each with its own dimensions."""

from __future__ import annotations

from sqlalchemy import func

from app.datasets.base import Dataset, Dimension, Family, Measure
from app.datasets.seizures import area_dimension, component_dimension, region_dimension
from app.datasets.shapes import plain
from app.datasets.time import MONTHLY
from app.datasets.values import Labels, States
from app.models import Encounter, EncounterRollup
from app.vocabulary import DEMOGRAPHICS, TITLES

SOUTHWEST = frozenset({"Southwest Border"})

ENCOUNTERS = Dataset(
    name="encounters",
    path="/encounters",
    title="Migrant encounters (CBP, DHS OHSS)",
    description="Encounters of migrants by CBP: apprehensions and expulsions between ports "
    "(Border Patrol) and inadmissibles at ports of entry (OFO), by month. Several official "
    "releases carry different dimensions; each request is answered from one release family "
    "that has every requested dimension, named in meta.source.",
    table=Encounter.__table__,
    rollup_table=EncounterRollup.__table__,
    measures=(
        Measure("encounter_count", "encounters", "Number of encounters (events, not unique "
                "people).", lambda t: func.sum(t.c.encounter_count), column="encounter_count",
                integer=True),
    ),
    dimensions=(
        area_dimension(),
        Dimension("state", "Two-letter state code or state name (the by-state release).",
                  States(), plain("state")),
        component_dimension(),
        region_dimension(),
        Dimension("demographic", "Accompanied Minors, Family Unit Members (FMUA), Single Adults, "
                  "Unaccompanied Children (CBP writes 'UC / Single Minors' or 'UAC').",
                  Labels("demographic", aliases=DEMOGRAPHICS), plain("demographic")),
        Dimension("citizenship", "Country of citizenship as CBP writes it (upper case). Each "
                  "release family lists its own countries and groups the rest in a catch-all of "
                  "its own: 'OTHER (cbp-sw-encounters)' is every country but the four the "
                  "Southwest file lists, 'OTHER (cbp-state-encounters)' every country but the 21 "
                  "the by-state file lists; they are different values (see each source's "
                  "catch_all in /datasets).",
                  Labels("citizenship"), plain("citizenship")),
        Dimension("title_of_authority", "Title 8 (immigration law) or Title 42 (public-health "
                  "expulsions, March 2020 - May 2023).",
                  Labels("title of authority", aliases=TITLES), plain("title_of_authority")),
        Dimension("encounter_type", "Apprehensions, Expulsions (Title 42) or Inadmissibles (OFO).",
                  Labels("encounter type"), plain("encounter_type")),
    ),
    time=MONTHLY,
    families=(
        Family(key="cbp-sw-encounters", title="CBP Southwest Land Border Encounters",
               dimensions=frozenset({"component", "region", "demographic", "citizenship",
                                     "title_of_authority", "encounter_type"}),
               formats=("cbp-sw-encounters",), only={"region": SOUTHWEST}),
        Family(key="cbp-state-encounters", title="CBP Nationwide Encounters, by state",
               dimensions=frozenset({"region", "state", "demographic", "citizenship",
                                     "title_of_authority"}),
               formats=("cbp-state-encounters",)),
        Family(key="cbp-aor-encounters",
               title="CBP Nationwide Encounters, by area of responsibility",
               dimensions=frozenset({"component", "region", "area", "demographic", "citizenship",
                                     "title_of_authority", "encounter_type"}),
               formats=("cbp-aor-encounters",)),
        Family(key="ohss-sector-encounters",
               title="DHS OHSS KHSM CBP Encounters (USBP), monthly by region and sector",
               dimensions=frozenset({"component", "region", "area"}),
               formats=("ohss-sector-encounters",), only={"component": frozenset({"USBP"})},
               exact=False,
               caveat="The DHS OHSS sector series covers U.S. Border Patrol only and rounds each "
               "monthly figure to the nearest 10."),
    ),
    family_column="source",
    rollups=tuple(("component", "region", *extra) for extra in (
        (), ("state",), ("area",), ("demographic",), ("citizenship",), ("title_of_authority",),
        ("encounter_type",))),
    share_path="/comparisons/encounter-share",
)
