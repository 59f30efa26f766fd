"""The wording rules at their boundaries, and how a share divides: pure functions, no database."""

from __future__ import annotations

from app.claims import wording
from app.claims.wording import APPROXIMATELY, DEPENDS, NO_DATA, NOT_SUPPORTED, SUPPORTED, judge
from app.compare import ratio


def test_more_than_ninety_percent_boundaries() -> None:
    rule = {"op": ">", "target": 0.9, "precision": 0.01, "unit": "share"}
    assert judge(value=0.9001, **rule).verdict == SUPPORTED
    assert judge(value=0.9, **rule).verdict == APPROXIMATELY  # exactly 90 % is not "more than"
    assert judge(value=0.8996, **rule).verdict == APPROXIMATELY  # 89.96 % rounds to 90 %
    assert judge(value=0.895, **rule).verdict == APPROXIMATELY  # a half rounds up
    assert judge(value=0.8949, **rule).verdict == NOT_SUPPORTED
    assert judge(value=0.894, **rule).verdict == NOT_SUPPORTED  # 89.4 % rounds to 89 %


def test_exactly_five_percent_is_not_less_than_five_percent() -> None:
    assert judge(value=0.05, op="<", target=0.05).verdict == NOT_SUPPORTED
    assert judge(value=0.05, op="<", target=0.05, precision=0.01).verdict == APPROXIMATELY
    assert judge(value=0.0499, op="<", target=0.05, precision=0.01).verdict == SUPPORTED
    assert judge(value=0.056, op="<", target=0.05, precision=0.01).verdict == NOT_SUPPORTED


def test_nearly_is_at_most_x_and_within_the_tolerance() -> None:
    rule = {"op": "nearly", "target": 108_000, "tolerance": 0.05, "precision": 1000}
    assert judge(value=107_999, **rule).verdict == SUPPORTED  # just below
    assert judge(value=108_000, **rule).verdict == SUPPORTED  # at most X
    assert judge(value=102_600, **rule).verdict == SUPPORTED  # exactly 5 % below
    assert judge(value=102_599, **rule).verdict == NOT_SUPPORTED  # beyond the tolerance
    assert judge(value=108_001, **rule).verdict == APPROXIMATELY  # just above, rounds to X
    assert judge(value=108_600, **rule).verdict == NOT_SUPPORTED  # rounds to 109,000
    assert judge(value=108_001, op="nearly", target=108_000).verdict == NOT_SUPPORTED


def test_nearly_uses_five_percent_by_default() -> None:
    assert judge(value=0.665, op="nearly", target=0.7).verdict == SUPPORTED
    assert judge(value=0.6649, op="nearly", target=0.7).verdict == NOT_SUPPORTED


def test_about_at_the_tolerance_edge() -> None:
    assert judge(value=0.33, op="about", target=0.3).verdict == SUPPORTED  # exactly +10 %
    assert judge(value=0.27, op="about", target=0.3).verdict == SUPPORTED  # exactly -10 %
    assert judge(value=0.3301, op="about", target=0.3).verdict == NOT_SUPPORTED
    assert judge(value=0.2699, op="about", target=0.3).verdict == NOT_SUPPORTED
    assert judge(value=11_000, op="about", target=10_000, tolerance=0.1).verdict == SUPPORTED
    assert judge(value=11_001, op="about", target=10_000, tolerance=0.1).verdict == NOT_SUPPORTED


def test_at_least_and_at_most_include_x() -> None:
    assert judge(value=5, op=">=", target=5).verdict == SUPPORTED
    assert judge(value=5, op="<=", target=5).verdict == SUPPORTED
    assert judge(value=4.9, op=">=", target=5).verdict == NOT_SUPPORTED


def test_missing_value_is_no_data_never_a_verdict() -> None:
    result = judge(value=None, op=">", target=0.9, precision=0.01)
    assert result.verdict == NO_DATA


def test_overall_verdict_rules() -> None:
    assert wording.overall(SUPPORTED, [SUPPORTED, SUPPORTED]) == SUPPORTED
    assert wording.overall(SUPPORTED, [SUPPORTED, NO_DATA]) == SUPPORTED
    assert wording.overall(SUPPORTED, [APPROXIMATELY]) == DEPENDS
    assert wording.overall(NOT_SUPPORTED, [SUPPORTED]) == DEPENDS
    assert wording.overall(NO_DATA, [SUPPORTED]) == NO_DATA
    assert wording.overall(APPROXIMATELY, []) == APPROXIMATELY


def test_zero_base_gives_a_null_share_with_a_reason() -> None:
    assert ratio(5, 0).value is None and "zero" in ratio(5, 0).note
    assert ratio(None, 10).value is None and ratio(None, 10).note
    assert ratio(1, 4).value == 0.25
