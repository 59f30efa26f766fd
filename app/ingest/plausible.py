"""Checks no format states but every real release meets: periods in the past, and close together.

- No period after the month following today's month (monthly files) or after the current year
  (yearly files): a row dated in the future is a typo, and it would make its file look like the
  newest release. "Today" is the system date unless a caller passes one.
- No period far from the rest of the file: the distinct periods are split wherever two neighbours
  lie more than MAX_GAP_MONTHS (monthly) or MAX_GAP_YEARS (yearly) apart; the group holding the
  most rows is the file's span and a row in any other group is refused. Official monthly series are
  continuous; the CDC state table skips years (1999, 2005, 2014-2021): gaps of up to 9 years.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from app.ingest.columns import Columns
from app.ingest.formats import FileFormat

FUTURE_MARGIN_MONTHS = 1
MAX_GAP_MONTHS = 24
MAX_GAP_YEARS = 10


def today() -> dt.date:
    """The system date (tests pass their own `today` instead)."""
    return dt.date.today()


def latest_month(on: dt.date) -> dt.date:
    """The latest month a monthly file may hold when the date is `on`."""
    index = on.year * 12 + on.month - 1 + FUTURE_MARGIN_MONTHS
    return dt.date(index // 12, index % 12 + 1, 1)


def check_periods(cols: Columns, fmt: FileFormat, on: dt.date) -> None:
    """Refuse rows dated after `on` (plus the margin) or far from the file's other periods."""
    if fmt.grain == "year":
        _check_years(cols, fmt, on)
    else:
        _check_months(cols, fmt, on)


def _check_months(cols: Columns, fmt: FileFormat, on: dt.date) -> None:
    limit = latest_month(on)
    period, fy = pl.col("period"), pl.col("fiscal_year")
    future = period > pl.lit(limit)
    message = pl.format(f"{{}} is after {limit:%Y-%m}, the month after today's ({on:%Y-%m-%d}): "
                        "a period in the future is a mistyped or stray row",
                        pl.concat_str(pl.lit("period "), period.dt.strftime("%Y-%m")))
    # The year alone is in the future: name the year column, else the month column.
    year_in_future = pl.date(fy - 1, 10, 1) > pl.lit(limit)
    cols.check(pl.when(future & year_in_future).then(message), column=fmt.year_column)
    cols.check(pl.when(future & ~year_in_future).then(message), column=fmt.month_column)
    index = (period.dt.year().cast(pl.Int64) * 12 + period.dt.month().cast(pl.Int64) - 1)
    _check_span(cols, fmt, index, pl.concat_str(pl.lit("period "), period.dt.strftime("%Y-%m")),
                MAX_GAP_MONTHS, "months", future, lambda i: f"{i // 12}-{i % 12 + 1:02d}")


def _check_years(cols: Columns, fmt: FileFormat, on: dt.date) -> None:
    year = pl.col("year")
    future = year > on.year
    cols.check(pl.when(future).then(pl.format(
        f"year {{}} is after the current year ({on.year}): a year in the future is a mistyped or "
        "stray row", year)), column=fmt.year_column)
    _check_span(cols, fmt, year, pl.concat_str(pl.lit("year "), year.cast(pl.String)),
                MAX_GAP_YEARS, "years", future, str)


def _check_span(cols: Columns, fmt: FileFormat, index: pl.Expr, named: pl.Expr, max_gap: int,
                unit: str, future: pl.Expr, label: Callable[[int], str]) -> None:
    counts = (cols.frame.filter(index.is_not_null() & ~future)
              .group_by(index.alias("i")).agg(pl.len().alias("rows")).sort("i"))
    if counts.height < 2:
        return
    indexes, rows = counts["i"].to_list(), counts["rows"].to_list()
    groups: list[list[int]] = [[0]]
    for k in range(1, len(indexes)):
        if indexes[k] - indexes[k - 1] > max_gap:
            groups.append([])
        groups[-1].append(k)
    if len(groups) == 1:
        return
    main = max(groups, key=lambda g: (sum(rows[k] for k in g), -g[0]))
    low, high = indexes[main[0]], indexes[main[-1]]
    span = f"{label(low)}..{label(high)}"
    distance = pl.when(index < low).then(pl.lit(low) - index).otherwise(index - pl.lit(high))
    outside = (index < low) | (index > high)
    cols.check(pl.when(outside & ~future).then(pl.format(
        f"{{}} is {{}} {unit} away from the rest of the file ({span}): a period far outside the "
        "file's span is a mistyped or stray row",
        named, distance)), column=fmt.year_column)
