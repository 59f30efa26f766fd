"""Parsing a request into a QuerySpec, choosing the family and the rollup, and the SQL a plan
builds, checked without a database (an in-memory catalog, see unit_catalog.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from unit_catalog import build_catalog

from app.datasets import DATASETS
from app.errors import InvalidParameter, UnsupportedCombination
from app.query.build import build, rollup_for
from app.query.parse import resolve_filters, resolve_query
from app.query.sources import choose_family

SEIZURES, ENCOUNTERS, DEATHS = DATASETS["seizures"], DATASETS["encounters"], DATASETS["overdose_deaths"]


@pytest.fixture
def catalog():
    return build_catalog()


def spec_of(dataset, catalog, **raw):
    group_by = raw.pop("group_by", None)
    filters = {k: v if isinstance(v, list) else [v] for k, v in raw.items()}
    return resolve_query(dataset, filters, catalog, group_by=[group_by] if group_by else None)


def test_comma_lists_and_repeated_parameters_read_alike(catalog):
    assert (spec_of(SEIZURES, catalog, drug="meth,fent").filters["drug"].shown
            == spec_of(SEIZURES, catalog, drug=["meth", "fent"]).filters["drug"].shown
            == ("methamphetamine", "fentanyl"))


def test_a_fiscal_year_written_like_cbp_is_the_fiscal_year(catalog):
    assert spec_of(SEIZURES, catalog, fiscal_year="FY2021").period.fiscal_years == (2021,)
    with pytest.raises(InvalidParameter, match="FY2021 is accepted too"):
        spec_of(SEIZURES, catalog, fiscal_year="FY21")


def test_a_port_of_entry_is_refused_with_its_field_office(catalog):
    with pytest.raises(InvalidParameter) as caught:
        spec_of(SEIZURES, catalog, port="San Ysidro")
    assert caught.value.details["did_you_mean"] == "san-diego-field-office"
    spec = spec_of(SEIZURES, catalog, port="el paso")
    assert spec.filters["area"].shown == ("el-paso-field-office",)
    assert spec.notes and spec.notes[0].startswith("El Paso is also a port of entry")


def test_two_grains_are_refused_without_a_suggestion(catalog):
    with pytest.raises(InvalidParameter) as caught:
        spec_of(SEIZURES, catalog, group_by="month,fiscal_year")
    assert "did_you_mean" not in caught.value.details


def test_an_unknown_filter_name_suggests_the_parameter(catalog):
    with pytest.raises(InvalidParameter) as caught:
        resolve_filters(SEIZURES, {"fiscal_yaer": "2021"}, catalog)
    assert caught.value.details["did_you_mean"] == "fiscal_year"


def test_state_death_breakdowns_by_drug_are_refused(catalog):
    with pytest.raises(InvalidParameter, match="published for the total of all drugs"):
        spec_of(DEATHS, catalog, state="AZ", category="heroin")


def test_the_family_that_carries_a_value_answers_for_it(catalog):
    assert choose_family(spec_of(ENCOUNTERS, catalog, region="southwest", fiscal_year="2021"),
                         catalog).key == "cbp-sw-encounters"
    assert choose_family(spec_of(ENCOUNTERS, catalog, region="southwest", fiscal_year="2021",
                                 citizenship="cuba"), catalog).key == "cbp-state-encounters"
    with pytest.raises(UnsupportedCombination, match="not published by any loaded release family"):
        choose_family(spec_of(ENCOUNTERS, catalog, citizenship="other-cbp-sw-encounters",
                              group_by="state"), catalog)


def test_the_smallest_rollup_holding_the_request_is_read(catalog):
    assert rollup_for(SEIZURES, {"drug"}) == "component,region,drug"
    assert rollup_for(SEIZURES, {"state"}) == "component,region,area"  # a state stands for areas
    assert rollup_for(SEIZURES, {"drug", "area"}) == "component,region,drug,area"
    assert rollup_for(SEIZURES, {"area", "land_filter"}) is None  # no rollup keeps both
    assert rollup_for(DEATHS, {"category"}) is None


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()])
def test_a_plan_is_one_statement_aggregating_in_sql(catalog, dialect):
    spec = spec_of(SEIZURES, catalog, drug="fentanyl", fiscal_year="2021", group_by="area,month")
    plan = build(spec, choose_family(spec, catalog), catalog)
    sql = str(plan.statement.compile(dialect=dialect))
    assert sql.count("SELECT") == 1 and "sum(" in sql.lower() and "GROUP BY" in sql
    assert "count(*) OVER ()" in sql
    assert [label for label, _ in plan.keys] == ["area", "area_name", "month"]


def test_a_spec_narrows_within_its_base_and_says_which_request_reproduces_it(catalog):
    common = resolve_filters(SEIZURES, {"drug": "fentanyl", "fiscal_year": "2021"}, catalog)
    base = common.narrow(resolve_filters(SEIZURES, {"component": "ofo", "region": "southwest"},
                                         catalog).filters, catalog=catalog)
    part = resolve_filters(SEIZURES, {"area": "tucson-sector"}, catalog).filters
    with pytest.raises(InvalidParameter, match="not within the base"):
        base.narrow(part, catalog=catalog, label="part_{}")
    assert base.to_url() == "/seizures?drug=fentanyl&component=ofo&region=southwest&fiscal_year=2021"
    months = [dt.date(2020, 10, 1), dt.date(2020, 11, 1)]
    assert base.with_months(months).to_url().endswith("month=2020-10,2020-11")


# --- the catalog's memo: bounded by weight, oldest first ------------------------------------------

def test_the_memo_keeps_at_most_its_weight_and_lets_the_oldest_go_first():
    from app.query.catalog import Memo

    memo = Memo(capacity=40)
    for n in range(40):
        memo[("months", n)] = n
    assert len(memo) == 40 and memo.weight == 40
    memo[("plan", "a")] = "plan a"  # weighs 16: the 16 oldest small entries go
    assert [k for k in memo if k[0] == "months"] == [("months", n) for n in range(16, 40)]
    assert memo.weight == 40
    memo[("plan", "b")] = "plan b"
    memo[("plan", "c")] = "plan c"  # 3 plans weigh 48 > 40: plan a goes with every small one
    assert list(memo) == [("plan", "b"), ("plan", "c")] and memo.weight == 32
    memo[("plan", "b")] = "plan b again"  # replacing an entry does not count it twice
    assert memo.weight == 32 and memo[("plan", "b")] == "plan b again"
    memo.clear()
    assert memo.weight == 0 and not memo


def test_a_full_memo_holds_128_plans():
    from app.query.catalog import Memo

    memo = Memo()
    for n in range(200):
        memo[("plan", n)] = n
    assert sorted(memo.values()) == list(range(72, 200))


def test_the_memo_weighs_a_long_collection_by_its_length_and_refuses_other_changes():
    from app.query.catalog import Memo

    memo = Memo(capacity=10)
    memo[("requested", "a")] = tuple(range(2412))  # a 200-year period: 5
    memo[("note", "b")] = "a note"
    assert memo.weight == 6
    memo[("requested", "a")] = tuple(range(10))  # set again: the newest, and lighter
    assert list(memo) == [("note", "b"), ("requested", "a")] and memo.weight == 2
    for change in (lambda: memo.pop(("note", "b")), lambda: memo.update({}),
                   lambda: memo.__ior__({("x",): 1}), lambda: memo.popitem(),
                   lambda: memo.setdefault(("x",), 1), lambda: memo.__delitem__(("note", "b"))):
        with pytest.raises(TypeError):
            change()
    assert memo.weight == 2 and len(memo) == 2
