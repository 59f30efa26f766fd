"""CDC/NCHS drug overdose deaths: the nation by drug category and sex, each state's total."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func

from app.datasets.base import Caveat, Dataset, Dimension, Family, Measure
from app.datasets.shapes import NationalOrState, Output, Shape, plain
from app.datasets.time import ANNUAL
from app.datasets.values import CATEGORIES, Labels, States
from app.errors import InvalidParameter
from app.models import OverdoseDeath
from app.vocabulary import category_slug

TOTAL = "Total"
BOTH_SEXES = "all"


def _states_publish_totals_only(spec: Any) -> None:
    """States publish total deaths for both sexes only; categories and sex are national. Cells
    that contain each other are never added up: the nation includes every state, and a death
    involving two drugs counts in both categories."""
    states = spec.filters.get("state")
    chosen = states.values if states else ()
    if None in chosen and len(chosen) > 1 and "state" not in spec.group_by:
        raise InvalidParameter(
            states.param, states.raw, "the national figure (US) already includes every state: "
            "ask for US or for states, or add group_by=state to see them side by side")
    category = spec.filters.get("category")
    if category and len(category.values) > 1 and "category" not in spec.group_by:
        raise InvalidParameter(
            category.param, category.raw, "drug categories overlap (a death involving two drugs "
            "counts in both), so they cannot be added up: ask for one, or add group_by=category")
    by_state = any(s is not None for s in chosen) or ("state" in spec.group_by and not states)
    if not by_state:
        return
    for dim, default in (("category", TOTAL), ("sex", BOTH_SEXES)):
        given = spec.filters.get(dim)
        if (given and any(v != default for v in given.values)) or (dim in spec.group_by and not given):
            param = given.param if given else "group_by"
            raise InvalidParameter(
                param, given.raw if given else spec.raw_group_by, "overdose deaths by state are "
                f"published for the total of all drugs and both sexes only; {dim} breakdowns are "
                "national (state=US)", [default.lower()] if given else None)


OVERDOSE_DEATHS = Dataset(
    name="overdose_deaths",
    path="/overdose-deaths",
    title="Drug overdose deaths (CDC/NCHS)",
    description="Drug overdose deaths by calendar year: the United States by drug category and "
    "sex (NCHS via NIDA), and each state's total with its age-adjusted rate. Without `state`, "
    "figures are national (never a sum of states, which would omit DC).",
    table=OverdoseDeath.__table__,
    rollup_table=None,
    measures=(
        Measure("deaths", "deaths", "Number of drug overdose deaths.",
                lambda t: func.sum(t.c.deaths), column="deaths", integer=True),
        # A rate is meaningful for one published row; a sum of rows has none.
        Measure("rate", "per 100,000", "Age-adjusted death rate per 100,000, where published "
                "(state totals); null for sums over several rows.",
                lambda t: case((func.count() == 1, func.max(t.c.rate)), else_=None),
                column="rate", additive=False),
    ),
    dimensions=(
        Dimension("state", "Two-letter state code or name; US for the national figure. Unset: "
                  "national.", States(national=True), NationalOrState(), default=(None,),
                  grouped=lambda fact: fact.c.state.is_not(None)),
        Dimension("category", "Drug category (see GET /datasets): total, synthetic-opioids "
                  "(primarily fentanyl), heroin, cocaine, ... Unset: total.", CATEGORIES,
                  Shape(column="category", outputs=(
                      Output("category", lambda fact: fact.c.category, category_slug),
                      Output("category_name", lambda fact: fact.c.category,
                             description="the drug category as NCHS names it."))),
                  default=(TOTAL,)),
        Dimension("sex", "all, female or male (national figures only). Unset: all.",
                  Labels("sex"), plain("sex"), default=(BOTH_SEXES,)),
    ),
    time=ANNUAL,
    families=(
        Family(key="overdose_deaths", title="Drug overdose deaths (CDC/NCHS)",
               dimensions=frozenset({"state", "category", "sex"}),
               formats=("cdc-us-deaths", "cdc-us-deaths-by-drug", "cdc-state-deaths",
                        "nchs-data-briefs")),
    ),
    revision="cell",
    rules=(_states_publish_totals_only,),
    caveats=(
        Caveat("Drug categories overlap: a death involving several drugs counts in each.",
               lambda spec: "category" in spec.group_by),
    ),
)
