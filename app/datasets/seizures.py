"""CBP drug seizures: pounds seized and seizure events by month, area, drug, component, region."""

from __future__ import annotations

from sqlalchemy import func

from app.datasets.base import Caveat, Dataset, Dimension, Family, Measure, exact_sum
from app.datasets.shapes import AREA, DRUG, AreaStates, plain
from app.datasets.time import MONTHLY
from app.datasets.values import Areas, Drugs, Fixed, States
from app.models import Seizure, SeizureRollup
from app.vocabulary import COMPONENTS, LAND_FILTERS, REGIONS

LBS_TO_KG = 0.45359237  # exact, by the international yard and pound agreement (1959)
# Pounds kept exactly for sums: whole micro-pounds and the rest in 1e-18 lb (see exact_sum).
LBS_PARTS = ("quantity_ulbs", "quantity_lbs_rest")

AREA_HELP = ("Area of responsibility: an OFO field office (ports of entry) or a Border Patrol "
             "sector. Slug, official name or alias, e.g. san-diego-field-office, 'Tucson Sector', "
             "RGV.")
COMPONENT_HELP = ("OFO (Office of Field Operations: ports of entry) or USBP (U.S. Border Patrol: "
                  "between ports).")
REGION_HELP = ("Southwest Border, Northern Border or Coastal/Interior (CBP's 'Other' and OHSS's "
               "'Coastal Border' are mapped to Coastal/Interior).")


def area_dimension() -> Dimension:
    return Dimension("area", AREA_HELP, Areas(), AREA, synonyms=("port", "sector"),
                     synonym_scope={"sector": {"component": "USBP"}},
                     synonym_help={
                         "port": "Synonym of `area`; a bare place name is read as its field "
                         "office (ports of entry). A port of entry's own name (Nogales) is "
                         "refused with its field office: CBP publishes no figure per port.",
                         "sector": "Border Patrol sector(s): `area` limited to sectors; a bare "
                         "place name is read as its sector (`El Paso` means the El Paso Sector)."},
                     example="san-diego-field-office")


def component_dimension() -> Dimension:
    return Dimension("component", COMPONENT_HELP, Fixed(COMPONENTS, "component"), plain("component"))


def region_dimension() -> Dimension:
    return Dimension("region", REGION_HELP, Fixed(REGIONS, "region"), plain("region"))


SEIZURES = Dataset(
    name="seizures",
    path="/seizures",
    title="CBP drug seizures",
    description="Drug seizures by CBP: pounds seized and number of seizure events, by month, "
    "area of responsibility, drug, component, region and land filter.",
    table=Seizure.__table__,
    rollup_table=SeizureRollup.__table__,
    measures=(
        Measure("quantity_lbs", "lb", "Sum of the quantity seized, in pounds (CBP 'Sum Qty (lbs)').",
                lambda t: exact_sum(t, LBS_PARTS), column="quantity_lbs", digits=10,
                parts=LBS_PARTS),
        Measure("quantity_kg", "kg", "The same in kilograms (1 lb = 0.45359237 kg).",
                lambda t: exact_sum(t, LBS_PARTS) * LBS_TO_KG, column=None, digits=10),
        Measure("event_count", "events", "Number of seizure events (CBP 'Count of Event').",
                lambda t: func.sum(t.c.event_count), column="event_count", integer=True),
    ),
    dimensions=(
        Dimension("drug", "Drug type: slug, name or alias (meth, mdma, ...). See GET /drugs.",
                  Drugs(), DRUG),
        area_dimension(),
        Dimension("state", "Two-letter state code or state name. For seizures, the state(s) of the "
                  "area of responsibility: El Paso covers NM and TX, Yuma covers AZ and CA, so "
                  "grouping by state gives labels such as 'NM,TX' and never counts an area twice.",
                  States(), AreaStates()),
        component_dimension(),
        region_dimension(),
        Dimension("land_filter", "CBP's land filter: 'Land Only' or 'Other'.",
                  Fixed(LAND_FILTERS, "land filter"), plain("land_filter")),
    ),
    time=MONTHLY,
    families=(
        Family(key="cbp-seizures", title="CBP Nationwide Drug Seizures",
               dimensions=frozenset({"drug", "area", "state", "component", "region", "land_filter"}),
               formats=("cbp-seizures",)),
    ),
    rollups=(
        ("component", "region"),
        ("component", "region", "drug"),
        ("component", "region", "area"),
        ("component", "region", "land_filter"),
        ("component", "region", "drug", "land_filter"),
        ("component", "region", "drug", "area"),
    ),
    caveats=(
        Caveat("Seizure states are those of the area of responsibility: El Paso covers NM and TX "
               "and Yuma AZ and CA; areas away from the Southwest Border list only the state of "
               "their headquarters (see /areas).",
               lambda spec: "state" in spec.filters or "state" in spec.group_by),
    ),
    share_path="/comparisons/seizure-share",
)
