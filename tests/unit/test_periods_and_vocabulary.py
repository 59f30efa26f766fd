"""Fiscal and calendar arithmetic, the periods a request asks for, and the shared vocabulary."""

from __future__ import annotations

import datetime as dt

from app import periods
from app.datasets.time import Period
from app.vocabulary import alias_table, catch_all, category_slug, slugify

D = dt.date


def test_fiscal_year_n_runs_october_to_september():
    assert periods.fiscal_year_of(D(2020, 10, 1)) == 2021
    assert periods.fiscal_year_of(D(2021, 9, 1)) == 2021
    assert periods.fiscal_year_months(2021)[0] == D(2020, 10, 1)
    assert len(periods.fiscal_year_months(2021)) == 12


def test_month_text_is_strftimes_year_and_month_for_every_month_and_a_run_names_its_ends():
    months = list(periods.span(D(1990, 1, 1), D(2035, 12, 1)))
    assert [periods.month_text(m) for m in months] == [m.strftime("%Y-%m") for m in months]
    assert periods.month_text(dt.datetime(2024, 2, 29, 23, 59)) == "2024-02"
    assert periods.months_text([]) == "no month"
    assert periods.months_text([D(2021, 3, 1)]) == "2021-03"
    assert periods.months_text([D(2020, 10, 1), D(2020, 11, 1), D(2021, 9, 1)]) == "2020-10..2021-09"


def test_grain_keys_cover_their_months():
    assert periods.grain_months("fiscal_quarter", 20221) == (D(2021, 10, 1), D(2021, 11, 1),
                                                             D(2021, 12, 1))
    assert periods.grain_months("quarter", 20214) == (D(2021, 10, 1), D(2021, 11, 1),
                                                      D(2021, 12, 1))
    assert len(periods.grain_months("calendar_year", 2021)) == 12


def test_an_open_range_stops_where_the_dataset_stops_and_no_period_is_the_familys():
    family = list(periods.span(D(2019, 10, 1), D(2023, 9, 1)))
    dataset = list(periods.span(D(2018, 10, 1), D(2025, 8, 1)))
    assert Period().requested(family, dataset) == family
    assert Period(start=D(2025, 1, 1)).requested(family, dataset)[-1] == D(2025, 8, 1)
    assert Period(fiscal_years=(2021,), months=(D(2020, 12, 1),)).requested(family, dataset) == [
        D(2020, 12, 1)]


def test_slugs_aliases_and_catch_alls():
    assert slugify("CHINA, PEOPLES REPUBLIC OF") == "china-peoples-republic-of"
    assert alias_table({"OFO": ("ofo", "ports")})["ports"] == "OFO"
    assert catch_all("OTHER", "cbp-sw-encounters") == "OTHER (cbp-sw-encounters)"
    assert catch_all("MEXICO", "cbp-sw-encounters") == "MEXICO"
    assert category_slug("Synthetic Opioids (primarily fentanyl)") == "synthetic-opioids"
