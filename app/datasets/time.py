"""Time axes: monthly data (by fiscal or calendar year, quarter, month) and annual data.

A `Period` is what a request asks for; both axes read it the same way, an annual period being
months on the first of January. The axis turns it into SQL conditions, grain expressions and the
periods a grain key covers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, cast, extract

from app import periods
from app.errors import InvalidParameter
from app.periods import month_text

YEAR_RANGE = (1900, 2100)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")

GRAIN_DESCRIPTIONS = {
    "month": "calendar month, written YYYY-MM",
    "quarter": "calendar quarter, written YYYY-Qn",
    "fiscal_quarter": "federal fiscal quarter, written FYyyyy-Qn (Q1 = October-December)",
    "fiscal_year": "federal fiscal year N = October N-1 through September N",
    "calendar_year": "January through December",
    "year": "calendar year (overdose deaths are annual)",
}
# How a row writes each grain's key (format_key): its JSON type and, for text, its pattern.
GRAIN_KEYS: dict[str, tuple[type, str | None]] = {
    "month": (str, r"^\d{4}-\d{2}$"),
    "quarter": (str, r"^\d{4}-Q[1-4]$"),
    "fiscal_quarter": (str, r"^FY\d{4}-Q[1-4]$"),
    "fiscal_year": (int, None),
    "calendar_year": (int, None),
    "year": (int, None),
}


@dataclass(frozen=True)
class Period:
    """The time a query covers: every given condition applies (they are ANDed)."""

    fiscal_years: tuple[int, ...] = ()
    calendar_years: tuple[int, ...] = ()
    months: tuple[dt.date, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None

    def is_bounded(self) -> bool:
        return bool(self.fiscal_years or self.calendar_years or self.months or
                    (self.start and self.end))

    def contains(self, month: dt.date) -> bool:
        if self.fiscal_years and periods.fiscal_year_of(month) not in self.fiscal_years:
            return False
        if self.calendar_years and month.year not in self.calendar_years:
            return False
        if self.months and month not in self.months:
            return False
        if self.start and month < self.start:
            return False
        return not (self.end and month > self.end)

    def bounds(self) -> tuple[dt.date | None, dt.date | None]:
        """First and last month the conditions allow (None where they leave it open)."""
        lows = [dt.date(fy - 1, 10, 1) for fy in self.fiscal_years[:1]]
        lows += [dt.date(y, 1, 1) for y in self.calendar_years[:1]] + list(self.months[:1])
        highs = [dt.date(fy, 9, 1) for fy in self.fiscal_years[-1:]]
        highs += [dt.date(y, 12, 1) for y in self.calendar_years[-1:]] + list(self.months[-1:])
        first = max([*lows, self.start] if self.start else lows, default=None)
        last = min([*highs, self.end] if self.end else highs, default=None)
        return first, last

    def requested(self, family: Sequence[dt.date], dataset: Sequence[dt.date],
                  step: str = "month") -> list[dt.date]:
        """Every period asked for: whole years and listed months; an open end stops at the span
        the dataset covers; no period at all asks for every period the family covers."""
        first, last = self.bounds()
        if first is None and last is None:
            known = sorted(family)
        elif first is None or last is None:
            known = sorted(dataset)
        else:
            known = [first, last]
        if not known:
            return []
        first, last = first or known[0], last or known[-1]
        if step == "year":
            first, last = dt.date(first.year, 1, 1), dt.date(last.year, 1, 1)
            span = [dt.date(y, 1, 1) for y in range(first.year, last.year + 1)]
        else:
            span = list(periods.span(first, last))
        return [m for m in span if self.contains(m)]


class TimeAxis:
    """What a dataset's time is: its column, grains, query parameters and SQL."""

    unit: str
    column: str
    stored: tuple[tuple[str, str], ...]  # the time columns a fact stores, with their kind
    grains: tuple[str, ...]
    params: tuple[str, ...]
    # What `describe` writes for each parameter (meta.filters): (parameter, Python type).
    described: tuple[tuple[str, Any], ...]

    def parse(self, raw: Mapping[str, list[str]]) -> Period:
        raise NotImplementedError

    def conditions(self, period: Period, fact: Any) -> list[Any]:
        raise NotImplementedError

    def grain_expression(self, grain: str, fact: Any) -> Any:
        raise NotImplementedError

    def grain_periods(self, grain: str, key: Any) -> tuple[dt.date, ...]:
        return periods.grain_months(grain, key)

    def format_key(self, grain: str, value: Any) -> Any:
        return value

    def describe(self, period: Period) -> dict[str, Any]:
        raise NotImplementedError


class MonthlyTime(TimeAxis):
    unit = "month"
    column = "period"
    stored = (("period", "date"), ("fiscal_year", "int"))
    grains = ("month", "quarter", "fiscal_quarter", "fiscal_year", "calendar_year")
    params = ("fiscal_year", "calendar_year", "month", "from", "to")
    described = (("fiscal_year", list[int]), ("calendar_year", list[int]), ("month", list[str]),
                 ("from", str), ("to", str))

    def parse(self, raw: Mapping[str, list[str]]) -> Period:
        start = parse_month("from", _one("from", raw)) if "from" in raw else None
        end = parse_month("to", _one("to", raw)) if "to" in raw else None
        if start and end and start > end:
            raise InvalidParameter("from", _one("from", raw),
                                   f"from ({_one('from', raw)}) is after to ({_one('to', raw)})")
        months: tuple[dt.date, ...] = ()
        if "month" in raw:
            months = tuple(sorted({parse_month("month", m) for m in raw["month"]}))
            if not months:
                raise InvalidParameter("month", "", "month is empty")
        period = Period(
            fiscal_years=year_list("fiscal_year", raw["fiscal_year"]) if "fiscal_year" in raw else (),
            calendar_years=(year_list("calendar_year", raw["calendar_year"])
                            if "calendar_year" in raw else ()),
            months=months, start=start, end=end,
        )
        given = [name for name in self.params if name in raw]
        if len(given) > 1 and not any(period.contains(m) for m in periods.span(*period.bounds())):
            last = given[-1]
            raise InvalidParameter(
                last, ",".join(raw[last]),
                f"{' and '.join(f'{n}={chr(44).join(raw[n])}' for n in given)} have no month in common")
        return period

    def conditions(self, period: Period, fact: Any) -> list[Any]:
        out = []
        first, last = period.bounds()
        if period.fiscal_years or period.calendar_years or period.months:
            # The same months as a range on the period column too, so an index on it applies.
            out += [fact.c.period >= first, fact.c.period <= last]
        if period.fiscal_years:
            out.append(fact.c.fiscal_year.in_(period.fiscal_years))
        if period.calendar_years:
            out.append(cast(extract("year", fact.c.period), Integer).in_(period.calendar_years))
        if period.months:
            out.append(fact.c.period.in_(period.months))
        if period.start:
            out.append(fact.c.period >= period.start)
        if period.end:
            out.append(fact.c.period <= period.end)
        return out

    def grain_expression(self, grain: str, fact: Any) -> Any:
        if grain == "month":
            return fact.c.period
        if grain == "fiscal_year":
            return fact.c.fiscal_year
        year = cast(extract("year", fact.c.period), Integer)
        month = cast(extract("month", fact.c.period), Integer)
        if grain == "calendar_year":
            return year
        if grain == "quarter":
            return year * 10 + (month + 2) // 3
        # fiscal_quarter: October-December is Q1 of the next fiscal year
        return fact.c.fiscal_year * 10 + ((month + 2) % 12) // 3 + 1

    def format_key(self, grain: str, value: Any) -> Any:
        if value is None:
            return None
        if grain == "month":
            if isinstance(value, str):
                value = dt.date.fromisoformat(value[:10])
            return month_text(value)
        if grain == "quarter":
            return f"{value // 10}-Q{value % 10}"
        if grain == "fiscal_quarter":
            return f"FY{value // 10}-Q{value % 10}"
        return value

    def describe(self, period: Period) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if period.fiscal_years:
            out["fiscal_year"] = list(period.fiscal_years)
        if period.calendar_years:
            out["calendar_year"] = list(period.calendar_years)
        if period.months:
            out["month"] = [month_text(m) for m in period.months]
        if period.start:
            out["from"] = month_text(period.start)
        if period.end:
            out["to"] = month_text(period.end)
        return out


class AnnualTime(TimeAxis):
    """Calendar years; a period is the first of January of each year."""

    unit = "year"
    column = "year"
    stored = (("year", "int"),)
    grains = ("year",)
    params = ("year", "from", "to")
    described = (("year", list[int]), ("from", int), ("to", int))

    def parse(self, raw: Mapping[str, list[str]]) -> Period:
        years = year_list("year", raw["year"]) if "year" in raw else ()
        bounds: dict[str, int] = {}
        for name in ("from", "to"):
            if name in raw:
                value = _one(name, raw).strip()
                if not _YEAR.match(value) or not YEAR_RANGE[0] <= int(value) <= YEAR_RANGE[1]:
                    raise InvalidParameter(name, value, f"{name} must be a 4-digit year from "
                                           f"{YEAR_RANGE[0]} to {YEAR_RANGE[1]} for overdose deaths")
                bounds[name] = int(value)
        if "from" in bounds and "to" in bounds and bounds["from"] > bounds["to"]:
            raise InvalidParameter("from", _one("from", raw),
                                   f"from ({_one('from', raw)}) is after to ({_one('to', raw)})")
        return Period(calendar_years=years,
                      start=dt.date(bounds["from"], 1, 1) if "from" in bounds else None,
                      end=dt.date(bounds["to"], 1, 1) if "to" in bounds else None)

    def conditions(self, period: Period, fact: Any) -> list[Any]:
        out = []
        if period.calendar_years:
            out.append(fact.c.year.in_(period.calendar_years))
        if period.start:
            out.append(fact.c.year >= period.start.year)
        if period.end:
            out.append(fact.c.year <= period.end.year)
        return out

    def grain_expression(self, grain: str, fact: Any) -> Any:
        return fact.c.year

    def grain_periods(self, grain: str, key: Any) -> tuple[dt.date, ...]:
        return (dt.date(int(key), 1, 1),)

    def describe(self, period: Period) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if period.calendar_years:
            out["year"] = list(period.calendar_years)
        if period.start:
            out["from"] = period.start.year
        if period.end:
            out["to"] = period.end.year
        return out


def _one(name: str, raw: Mapping[str, list[str]]) -> str:
    values = raw[name]
    if len(values) != 1:
        raise InvalidParameter(name, ",".join(values), f"{name} takes one value")
    return values[0]


def parse_month(param: str, value: str) -> dt.date:
    match = _MONTH.match(value.strip())
    if (not match or not 1 <= int(match.group(2)) <= 12
            or not YEAR_RANGE[0] <= int(match.group(1)) <= YEAR_RANGE[1]):
        raise InvalidParameter(param, value, f"{param} must be a month written YYYY-MM between "
                               f"{YEAR_RANGE[0]}-01 and {YEAR_RANGE[1]}-12, e.g. 2021-10")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def year_list(param: str, tokens: list[str]) -> tuple[int, ...]:
    """Years from tokens; a fiscal year may be written as CBP writes it (FY2021)."""
    years = []
    for token in tokens:
        digits = token[2:].strip() if param == "fiscal_year" and token[:2].upper() == "FY" else token
        if not _YEAR.match(digits) or not YEAR_RANGE[0] <= int(digits) <= YEAR_RANGE[1]:
            written = " (FY2021 is accepted too)" if param == "fiscal_year" else ""
            raise InvalidParameter(param, token, f"{param} must be a 4-digit year from "
                                   f"{YEAR_RANGE[0]} to {YEAR_RANGE[1]}{written} (or a comma list)")
        years.append(int(digits))
    if not years:
        raise InvalidParameter(param, "", f"{param} is empty")
    return tuple(sorted(set(years)))


MONTHLY = MonthlyTime()
ANNUAL = AnnualTime()
