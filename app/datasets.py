"""The registry: each dataset's table, measures, dimensions, time grains and sources, declared once.

Endpoints, CSV, comparisons and claim checks all read this registry, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table

from app.ingest.formats import FORMATS_BY_KEY
from app.models import Encounter, OverdoseDeath, Seizure

LBS_TO_KG = 0.45359237  # exact, by the international yard and pound agreement (1959)


@dataclass(frozen=True)
class Measure:
    name: str
    unit: str
    description: str


@dataclass(frozen=True)
class Dimension:
    name: str
    description: str
    # Other names a user may give this dimension in a query string or in group_by.
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """A family of releases of one layout; a query on encounters is answered from one of them."""

    key: str
    title: str
    dimensions: frozenset[str]
    # Restrictions of what the source covers (None: every value).
    regions: frozenset[str] | None = None
    components: frozenset[str] | None = None
    exact: bool = True
    caveat: str | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    path: str
    title: str
    description: str
    table: Table
    measures: tuple[Measure, ...]
    dimensions: tuple[Dimension, ...]
    grains: tuple[str, ...]
    time: str  # "month" or "year"
    sources: tuple[Source, ...] = field(default_factory=tuple)

    def dimension(self, name: str) -> Dimension | None:
        for dim in self.dimensions:
            if dim.name == name or name in dim.synonyms:
                return dim
        return None

    @property
    def measure_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.measures)


MONTHLY_GRAINS = ("month", "quarter", "fiscal_quarter", "fiscal_year", "calendar_year")

GRAIN_DESCRIPTIONS = {
    "month": "calendar month, written YYYY-MM",
    "quarter": "calendar quarter, written YYYY-Qn",
    "fiscal_quarter": "federal fiscal quarter, written FYyyyy-Qn (Q1 = October-December)",
    "fiscal_year": "federal fiscal year N = October N-1 through September N",
    "calendar_year": "January through December",
    "year": "calendar year (overdose deaths are annual)",
}

_AREA = Dimension(
    "area",
    "Area of responsibility: an OFO field office (ports of entry) or a Border Patrol sector. "
    "Slug, official name or alias, e.g. san-diego-field-office, 'Tucson Sector', RGV.",
    synonyms=("port", "sector"),
)
_STATE = Dimension(
    "state",
    "Two-letter state code or state name. For seizures, the state(s) of the area of "
    "responsibility: El Paso covers NM and TX, Yuma covers AZ and CA, so grouping by state "
    "gives labels such as 'NM,TX' and never counts an area twice.",
)
_COMPONENT = Dimension(
    "component",
    "OFO (Office of Field Operations: ports of entry) or USBP (U.S. Border Patrol: between "
    "ports).",
)
_REGION = Dimension(
    "region",
    "Southwest Border, Northern Border or Coastal/Interior (CBP's 'Other' and OHSS's "
    "'Coastal Border' are mapped to Coastal/Interior).",
)

SEIZURES = Dataset(
    name="seizures",
    path="/seizures",
    title="CBP drug seizures",
    description="Drug seizures by CBP: pounds seized and number of seizure events, by month, "
    "area of responsibility, drug, component, region and land filter.",
    table=Seizure.__table__,
    measures=(
        Measure("quantity_lbs", "lb", "Sum of the quantity seized, in pounds (CBP 'Sum Qty (lbs)')."),
        Measure("quantity_kg", "kg", "The same in kilograms (1 lb = 0.45359237 kg)."),
        Measure("event_count", "events", "Number of seizure events (CBP 'Count of Event')."),
    ),
    dimensions=(
        Dimension("drug", "Drug type: slug, name or alias (meth, mdma, ...). See GET /drugs."),
        _AREA,
        _STATE,
        _COMPONENT,
        _REGION,
        Dimension("land_filter", "CBP's land filter: 'Land Only' or 'Other'."),
    ),
    grains=MONTHLY_GRAINS,
    time="month",
    sources=(
        Source(
            key="cbp-seizures",
            title=FORMATS_BY_KEY["cbp-seizures"].title,
            dimensions=frozenset({"drug", "area", "state", "component", "region", "land_filter"}),
        ),
    ),
)

_ENCOUNTER_DIMS = (
    _AREA,
    _STATE,
    _COMPONENT,
    _REGION,
    Dimension("demographic", "Accompanied Minors, Family Unit Members (FMUA), Single Adults, "
              "Unaccompanied Children (CBP writes 'UC / Single Minors' or 'UAC')."),
    Dimension("citizenship", "Country of citizenship as CBP writes it (upper case). Each "
              "release family lists its own countries and groups the rest in a catch-all of its "
              "own: 'OTHER (cbp-sw-encounters)' is every country but the four the Southwest file "
              "lists, 'OTHER (cbp-state-encounters)' every country but the 21 the by-state file "
              "lists; they are different values (see each source's catch_all in /datasets)."),
    Dimension("title_of_authority", "Title 8 (immigration law) or Title 42 (public-health "
              "expulsions, March 2020 - May 2023)."),
    Dimension("encounter_type", "Apprehensions, Expulsions (Title 42) or Inadmissibles (OFO)."),
)

ENCOUNTERS = Dataset(
    name="encounters",
    path="/encounters",
    title="Migrant encounters (CBP, DHS OHSS)",
    description="Encounters of migrants by CBP: apprehensions and expulsions between ports "
    "(Border Patrol) and inadmissibles at ports of entry (OFO), by month. Several official "
    "releases carry different dimensions; each request is answered from one release family "
    "that has every requested dimension, named in meta.source.",
    table=Encounter.__table__,
    measures=(Measure("encounter_count", "encounters", "Number of encounters (events, not "
                      "unique people)."),),
    dimensions=_ENCOUNTER_DIMS,
    grains=MONTHLY_GRAINS,
    time="month",
    sources=(
        Source(
            key="cbp-sw-encounters",
            title=FORMATS_BY_KEY["cbp-sw-encounters"].title,
            dimensions=frozenset({"component", "region", "demographic", "citizenship",
                                  "title_of_authority", "encounter_type"}),
            regions=frozenset({"Southwest Border"}),
        ),
        Source(
            key="cbp-state-encounters",
            title=FORMATS_BY_KEY["cbp-state-encounters"].title,
            dimensions=frozenset({"region", "state", "demographic", "citizenship",
                                  "title_of_authority"}),
        ),
        Source(
            key="cbp-aor-encounters",
            title=FORMATS_BY_KEY["cbp-aor-encounters"].title,
            dimensions=frozenset({"component", "region", "area", "demographic", "citizenship",
                                  "title_of_authority", "encounter_type"}),
        ),
        Source(
            key="ohss-sector-encounters",
            title=FORMATS_BY_KEY["ohss-sector-encounters"].title,
            dimensions=frozenset({"component", "region", "area"}),
            components=frozenset({"USBP"}),
            exact=False,
            caveat="The DHS OHSS sector series covers U.S. Border Patrol only and rounds each "
            "monthly figure to the nearest 10.",
        ),
    ),
)

OVERDOSE_DEATHS = Dataset(
    name="overdose_deaths",
    path="/overdose-deaths",
    title="Drug overdose deaths (CDC/NCHS)",
    description="Drug overdose deaths by calendar year: the United States by drug category and "
    "sex (NCHS via NIDA), and each state's total with its age-adjusted rate. Without `state`, "
    "figures are national (never a sum of states, which would omit DC).",
    table=OverdoseDeath.__table__,
    measures=(
        Measure("deaths", "deaths", "Number of drug overdose deaths."),
        Measure("rate", "per 100,000", "Age-adjusted death rate per 100,000, where published "
                "(state totals); null for sums over several rows."),
    ),
    dimensions=(
        Dimension("state", "Two-letter state code or name; US for the national figure. "
                  "Unset: national."),
        Dimension("category", "Drug category (see GET /datasets): total, synthetic-opioids "
                  "(primarily fentanyl), heroin, cocaine, ... Unset: total."),
        Dimension("sex", "all, female or male (national figures only). Unset: all."),
    ),
    grains=("year",),
    time="year",
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (SEIZURES, ENCOUNTERS, OVERDOSE_DEATHS)}
