"""Query parameters of the data endpoints, declared once as models (OpenAPI docs, unknown-parameter
checks). Values are parsed by app.params from the query string, so repeated parameters
(drug=a&drug=b) are read as the comma list drug=a,b."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.datasets import ENCOUNTERS, GRAIN_DESCRIPTIONS, MONTHLY_GRAINS, SEIZURES
from app.params import DEFAULT_LIMIT, MAX_LIMIT


def _list(text: str) -> str:
    return text + " Comma list; case-insensitive."


def _grains(grains: tuple[str, ...]) -> str:
    return "; ".join(f"`{g}` ({GRAIN_DESCRIPTIONS[g]})" for g in grains)


class OutputParams(BaseModel):
    format: Literal["json", "csv"] | None = Field(
        None, description="Response format. `csv` (or the header `Accept: text/csv`) streams an "
        "RFC 4180 file with a header row. Default json.")
    bom: bool = Field(False, description="CSV only: start with a UTF-8 byte-order mark so Excel "
                      "opens accented text correctly.")


class PagingParams(OutputParams):
    sort: str | None = Field(
        None, description="Comma list of group_by keys or measures; `-` for descending, e.g. "
        "`-quantity_lbs,area`. Default: by period, then the keys.", examples=["-quantity_lbs"])
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"Rows per page (1 to {MAX_LIMIT:,}).")
    offset: int = Field(0, ge=0, description="Rows to skip; `meta.next` links to the next page.")


class MonthlyParams(PagingParams):
    fiscal_year: str | None = Field(
        None, description=_list("Federal fiscal year(s): FY N runs 1 October N-1 to 30 "
                                "September N."), examples=["2021"])
    calendar_year: str | None = Field(None, description=_list("Calendar year(s)."),
                                      examples=["2022"])
    month: str | None = Field(None, description=_list("Month(s), YYYY-MM."), examples=["2021-10"])
    from_: str | None = Field(None, alias="from", description="First month, YYYY-MM (inclusive).",
                              examples=["2021-10"])
    to: str | None = Field(None, description="Last month, YYYY-MM (inclusive).",
                           examples=["2022-04"])


_AREA_HELP = ("Area(s) of responsibility: slug, official name or alias (see GET /areas), e.g. "
              "`san-diego-field-office`, `Tucson Sector`, `rgv`. An ambiguous name such as "
              "`el paso` (field office and sector) is refused with both choices.")
_STATE_HELP = ("State(s): two-letter code or name. Seizures: areas covering the state (El Paso "
               "covers NM and TX; Yuma AZ and CA).")
_COMPONENT_HELP = ("`ofo` (Office of Field Operations: ports of entry) or `usbp` (U.S. Border "
                   "Patrol: between ports); full names accepted.")
_REGION_HELP = "`southwest`, `northern` or `coastal-interior` (official names accepted)."


class SeizureParams(MonthlyParams):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    drug: str | None = Field(None, description=_list("Drug(s): slug, CBP name or alias, e.g. "
                             "fentanyl, methamphetamine (meth), cocaine. See GET /drugs."),
                             examples=["fentanyl"])
    area: str | None = Field(None, description=_list(_AREA_HELP), examples=["san-diego-field-office"])
    port: str | None = Field(None, description=_list("Synonym of `area`; a bare place name is "
                             "read as its field office (ports of entry)."), examples=["san diego"])
    sector: str | None = Field(None, description=_list("Border Patrol sector(s): `area` limited "
                               "to sectors; a bare place name is read as its sector."),
                               examples=["tucson"])
    state: str | None = Field(None, description=_list(_STATE_HELP), examples=["CA,AZ"])
    component: str | None = Field(None, description=_list(_COMPONENT_HELP), examples=["ofo"])
    region: str | None = Field(None, description=_list(_REGION_HELP), examples=["southwest"])
    land_filter: str | None = Field(None, description=_list("`land-only` or `other`."))
    group_by: str | None = Field(
        None, description="Comma list of dimensions ("
        + ", ".join(d.name for d in SEIZURES.dimensions)
        + "; `port` and `sector` mean `area`) and at most one time grain: " + _grains(MONTHLY_GRAINS)
        + ". Without group_by: one total row.", examples=["area,fiscal_year"])


class EncounterParams(MonthlyParams):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    area: str | None = Field(None, description=_list(_AREA_HELP), examples=["tucson-sector"])
    sector: str | None = Field(None, description=_list("Border Patrol sector(s): `area` limited "
                               "to sectors; `El Paso` means the El Paso Sector."),
                               examples=["el paso,rio grande valley"])
    port: str | None = Field(None, description=_list("Synonym of `area`; a bare place name is "
                             "read as its field office (ports of entry)."))
    state: str | None = Field(None, description=_list("State(s), two-letter code or name (the "
                              "by-state release)."), examples=["CA,AZ"])
    component: str | None = Field(None, description=_list(_COMPONENT_HELP), examples=["usbp"])
    region: str | None = Field(None, description=_list(_REGION_HELP), examples=["southwest"])
    demographic: str | None = Field(None, description=_list(
        "accompanied-minors, fmua (family unit members), single-adults, uac / uc (unaccompanied "
        "children)."))
    citizenship: str | None = Field(None, description=_list("Country as CBP writes it, e.g. "
                                    "mexico, guatemala, other."))
    title_of_authority: str | None = Field(None, description=_list("`title-8` or `title-42`."))
    encounter_type: str | None = Field(None, description=_list(
        "apprehensions, expulsions, inadmissibles."))
    source: str | None = Field(None, description="Answer from this release family only: "
                               + ", ".join(f"`{s.key}`" for s in ENCOUNTERS.sources)
                               + ". Default: the first that carries every requested dimension "
                               "and covers the period (exact CBP files before the rounded OHSS "
                               "series).")
    group_by: str | None = Field(
        None, description="Comma list of dimensions ("
        + ", ".join(d.name for d in ENCOUNTERS.dimensions)
        + "; `sector` means Border Patrol sectors) and at most one time grain: "
        + _grains(MONTHLY_GRAINS) + ".", examples=["sector,month"])


class DeathParams(PagingParams):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    state: str | None = Field(None, description=_list("State(s), code or name; `US` for the "
                              "national figure. Unset: national (not a sum of states)."),
                              examples=["AZ"])
    category: str | None = Field(None, description=_list(
        "Drug category slug, e.g. total, synthetic-opioids (alias fentanyl), heroin, cocaine, "
        "stimulants, any-opioid, prescription-opioids. Unset: total."), examples=["synthetic-opioids"])
    sex: str | None = Field(None, description=_list("all, female or male (national only)."))
    year: str | None = Field(None, description=_list("Calendar year(s)."), examples=["2021"])
    from_: str | None = Field(None, alias="from", description="First year (inclusive).")
    to: str | None = Field(None, description="Last year (inclusive).")
    group_by: str | None = Field(None, description="Comma list of state, category, sex and the "
                                 "grain `year`.", examples=["year"])
