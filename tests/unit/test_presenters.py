"""How figures are written: every measure of every dataset presents a value as the rule says
(integers as ints, a measure with `digits` rounded to that many significant digits, the rest as
floats), whether the value is met for the first time or again (rounded values are remembered)."""

from __future__ import annotations

import csv
import math
from decimal import Decimal
from pathlib import Path

import pytest

from app.datasets import DATASETS
from app.datasets.base import Rounded, rounded

MEASURES = [(dataset.name, measure) for dataset in DATASETS.values() for measure in dataset.measures]


def expected(measure, value):
    if measure.integer:
        return int(value)
    if measure.digits:
        return float(format(float(value), f".{measure.digits}g"))
    return float(value)


def official_values(data_dir: Path) -> list[float]:
    """Every pound figure of the shared seizure files, and each file's monthly sums of them
    (answers add rows up): values with up to 17 significant digits."""
    values: list[float] = []
    for path in sorted(data_dir.glob("cbp-drug-seizures-*.csv")):
        sums: dict[tuple[str, str], list[float]] = {}
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                value = float(row["Sum Qty (lbs)"])
                values.append(value)
                sums.setdefault((row["FY"], row["Month (abbv)"]), []).append(value)
        values.extend(math.fsum(part) for part in sums.values())
    return values


def test_the_catalog_has_a_rounded_measure_to_check() -> None:
    assert any(measure.digits for _, measure in MEASURES)


@pytest.mark.parametrize(("dataset", "measure"), MEASURES, ids=[f"{d}.{m.name}" for d, m in MEASURES])
def test_every_measure_presents_every_official_value_by_its_rule_first_time_and_again(
        dataset: str, measure, data_dir: Path) -> None:
    values = official_values(data_dir)
    assert len(values) > 10_000
    present = measure.presenter()
    for _ in range(2):  # the second pass reads remembered values
        got = [present(v) for v in values]
        assert got == [expected(measure, v) for v in values]
        assert [type(g) for g in got] == [type(expected(measure, v)) for v in values]
        assert [measure.present(v) for v in values[:1000]] == got[:1000]
    assert measure.present(None) is None
    if measure.digits:
        assert present is rounded(measure.digits)  # one table a precision, shared by requests
        assert [present[v] for v in values] == got  # rows read it by subscript


@pytest.mark.parametrize("zeros", [(0.0, -0.0), (-0.0, 0.0)])
def test_a_rounded_zero_keeps_its_sign_whichever_zero_came_first(zeros) -> None:
    table = Rounded(10)
    for _ in range(2):
        for zero in zeros:
            assert math.copysign(1, table[zero]) == math.copysign(1, zero)
            assert math.copysign(1, table(zero)) == math.copysign(1, zero)
    assert len(table) == 0


def test_rounding_to_significant_digits_by_example() -> None:
    """Worked by hand, not by the formula the code uses."""
    table = Rounded(10)
    cases = {8.3799469484296: 8.379946948, 123456789.126: 123456789.1, 0.000123456789012: 0.000123456789,
             2.5: 2.5, 12: 12.0, Decimal("1234.567890123"): 1234.56789, 10**12 + 1: 1e12}
    for value, written in cases.items():
        for _ in range(2):
            assert table[value] == written and type(table[value]) is float, value


def test_a_rounded_nan_is_nan_and_is_not_kept() -> None:
    table = Rounded(10)
    assert math.isnan(table[float("nan")])
    assert math.isnan(table[float("nan")])
    assert len(table) == 0


def test_the_table_of_rounded_values_starts_afresh_past_its_limit() -> None:
    table = Rounded(4)
    values = [1 + i / 1e6 for i in range(Rounded.LIMIT + 10)]
    got = [table[v] for v in values]
    assert got == [float(format(v, ".4g")) for v in values]
    assert len(table) == 10
    assert table[values[-1]] == got[-1] and len(table) == 10  # a value it keeps: no new entry
