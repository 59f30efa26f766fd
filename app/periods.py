"""Month arithmetic in one place: fiscal years, spans of months, the months a period key covers.

Months are `datetime.date` values on the first of the month. Federal fiscal year N runs from
October N-1 through September N.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any


def month_text(day: dt.date) -> str:
    """The "YYYY-MM" of a date (f"{day:%Y-%m}" for years 1000-9999, and the year always has four
    digits), without strftime: ~7x faster, and an answer names months dozens of times."""
    return day.isoformat()[:7]


def months_text(months: Sequence[dt.date]) -> str:
    """"first..last" of a run of months ("YYYY-MM" alone for one, "no month" for none)."""
    if not months:
        return "no month"
    return f"{month_text(months[0])}..{month_text(months[-1])}" if len(months) > 1 else month_text(months[0])


def fiscal_year_of(month: dt.date) -> int:
    return month.year + 1 if month.month >= 10 else month.year


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def span(first: dt.date | None, last: dt.date | None) -> Iterator[dt.date]:
    """Every month from `first` through `last` (nothing when either is missing)."""
    if first is None or last is None:
        return
    month = first
    while month <= last:
        yield month
        month = next_month(month)


def fiscal_year_months(fiscal_year: int) -> list[dt.date]:
    return list(span(dt.date(fiscal_year - 1, 10, 1), dt.date(fiscal_year, 9, 1)))


@lru_cache(maxsize=4096)
def grain_months(grain: str, key: Any) -> tuple[dt.date, ...]:
    """The months a period key spans: `month` 2021-10, `quarter` 20214 (2021-Q4),
    `fiscal_quarter` 20221 (FY2022-Q1), `fiscal_year` 2022, `calendar_year` / `year` 2021."""
    if grain == "month":
        if isinstance(key, str):
            key = dt.date.fromisoformat(key[:10])
        return (dt.date(key.year, key.month, 1),)
    if grain == "quarter":
        year, quarter = divmod(int(key), 10)
        return tuple(dt.date(year, 3 * (quarter - 1) + i, 1) for i in (1, 2, 3))
    if grain == "fiscal_quarter":
        fiscal_year, quarter = divmod(int(key), 10)
        return tuple(fiscal_year_months(fiscal_year)[3 * (quarter - 1):3 * quarter])
    if grain == "fiscal_year":
        return tuple(fiscal_year_months(int(key)))
    if grain == "calendar_year":
        return tuple(dt.date(int(key), m, 1) for m in range(1, 13))
    return (dt.date(int(key), 1, 1),)  # year: annual data
