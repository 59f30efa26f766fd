"""The wording rules: when a figure supports a claim's wording ("more than X", "nearly X", ...).

Comparisons use decimal arithmetic on the figures' shortest decimal form, so a boundary such as
"exactly 90 %" or "exactly 10 % off" is judged as written, not as binary floating point has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

SUPPORTED = "supported"
APPROXIMATELY = "approximately"
NOT_SUPPORTED = "not supported"
DEPENDS = "depends on definition"
NO_DATA = "no data"
VERDICTS = (SUPPORTED, APPROXIMATELY, NOT_SUPPORTED, DEPENDS, NO_DATA)

DEFAULT_TOLERANCE = {"nearly": 0.05, "about": 0.10}

RULES = {
    ">": "'more than X': the value is strictly greater than X.",
    "<": "'less than X' / 'fewer than X': the value is strictly less than X.",
    ">=": "'at least X': the value is greater than or equal to X.",
    "<=": "'at most X': the value is less than or equal to X.",
    "nearly": "'nearly X' / 'just under X': the value is at most X and within the relative "
    "tolerance (default 5 %) below it: X * (1 - tolerance) <= value <= X.",
    "about": "'about X' / 'roughly X': |value - X| <= tolerance * X (relative tolerance, "
    "default 10 %).",
}
APPROXIMATELY_RULE = ("'approximately': the wording fails, but the value rounded half up to the "
                      "claim's precision equals X (89.96 % for 'more than 90 %' with precision "
                      "1 % rounds to 90 %: approximately; 89.4 % rounds to 89 %: not supported). "
                      "Without a precision there is no 'approximately'.")
OVERALL_RULE = ("Overall verdict: the primary definition's verdict when every alternative that has "
                "data gives the same verdict, otherwise 'depends on definition'; 'no data' when "
                "the primary definition has no data (or the data cover only part of its period).")

_RELATION = {">": "more than", "<": "less than", ">=": "at least", "<=": "at most",
             "nearly": "nearly", "about": "about"}


@dataclass(frozen=True)
class Verdict:
    """A verdict with the rule applied and a sentence saying why."""

    verdict: str
    rule: str
    explanation: str


@lru_cache(maxsize=64)
def wording_rule(op: str, tolerance: float | None = None) -> str:
    """The rule text for an operator, with the tolerance actually used."""
    text = RULES[op]
    if op in DEFAULT_TOLERANCE:
        used = DEFAULT_TOLERANCE[op] if tolerance is None else tolerance
        text += f" Tolerance used: {_trim(_decimal(used) * 100)} %."
    return text


def judge(*, value: float | int | None, op: str, target: float | int,
          tolerance: float | None = None, precision: float | None = None,
          unit: str | None = None) -> Verdict:
    """Judge a figure against a claim's wording: supported, approximately or not supported."""
    rule = wording_rule(op, tolerance)
    if value is None:
        return Verdict(NO_DATA, rule, "no data for this definition's period in the loaded releases")
    v, x = _decimal(value), _decimal(target)
    shown, wanted = show(value, unit), show(target, unit)
    if _holds(op, v, x, tolerance):
        return Verdict(SUPPORTED, rule, f"{shown} is {_RELATION[op]} {wanted} by the rule")
    failed = f"{shown} is not {_RELATION[op]} {wanted} by the rule"
    if precision is not None:
        rounded = round_half_up(v, _decimal(precision))
        text = f"{failed}; rounded half up to the precision {show(precision, unit)} it is " \
               f"{show(rounded, unit)}"
        if rounded == x:
            return Verdict(APPROXIMATELY, rule, f"{text}, which equals {wanted}")
        return Verdict(NOT_SUPPORTED, rule, f"{text}, not {wanted}")
    return Verdict(NOT_SUPPORTED, rule, failed)


def overall(primary: str, alternatives: list[str]) -> str:
    """Combine the verdicts of the primary and alternative definitions."""
    if primary == NO_DATA:
        return NO_DATA
    with_data = [a for a in alternatives if a != NO_DATA]
    return primary if all(a == primary for a in with_data) else DEPENDS


def round_half_up(value: Decimal, precision: Decimal) -> Decimal:
    """Round to a multiple of `precision`, halves away from zero (89.95 % -> 90 % at 1 %)."""
    return (value / precision).quantize(Decimal(1), rounding=ROUND_HALF_UP) * precision


def show(value: float | int | Decimal, unit: str | None) -> str:
    """Write a number for a sentence: shares as percent, counts with separators."""
    number = _decimal(value) if not isinstance(value, Decimal) else value
    if unit == "share":
        return f"{_trim(number * 100)} %"
    return f"{_trim(number, grouped=True)}" + (f" {unit}" if unit else "")


def _holds(op: str, v: Decimal, x: Decimal, tolerance: float | None) -> bool:
    if op == ">":
        return v > x
    if op == "<":
        return v < x
    if op == ">=":
        return v >= x
    if op == "<=":
        return v <= x
    t = _decimal(DEFAULT_TOLERANCE[op] if tolerance is None else tolerance)
    if op == "nearly":
        return x * (1 - t) <= v <= x
    return abs(v - x) <= t * abs(x)


def _decimal(value: float | int | Decimal) -> Decimal:
    # repr() is the shortest decimal that round-trips: 0.33 stays 0.33, not 0.33000000000000002.
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def _trim(number: Decimal, grouped: bool = False) -> str:
    rounded = round(number, 4)
    text = f"{rounded:,f}" if grouped else f"{rounded:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def judge_kept(*, value: float | int | None, op: str, target: float | int,
               tolerance: float | None = None, precision: float | None = None,
               unit: str | None = None) -> Verdict:
    """`judge`, kept for its arguments: for the registered claims, judged again at each request
    over the same figures. Numbers are told apart as they are written (1 and 1.0, -0.0 and 0.0:
    the explanation shows them as repr does); the Verdict is immutable."""
    return _judged(value, repr(value), op, target, repr(target), tolerance, precision, unit)


@lru_cache(maxsize=4096)
def _judged(value: float | int | None, _written: str, op: str, target: float | int,
            _target_written: str, tolerance: float | None, precision: float | None,
            unit: str | None) -> Verdict:
    return judge(value=value, op=op, target=target, tolerance=tolerance, precision=precision,
                 unit=unit)
