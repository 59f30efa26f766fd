"""The exact integer parts of fractional measures (app/datasets/base.py `Measure.parts`).

A value x is kept as `high` = floor(x * 1e6) (whole micro-units) and `rest` = the remainder in
1e-18 units, rounded: the same IEEE operations in polars here, in Python in the migration that
filled them for databases loaded before they existed, and in `split` (tests). Integer sums of the
parts are exact, so a sum never depends on the order or grouping of the rows added up.
"""

from __future__ import annotations

import math

import polars as pl

from app.datasets import Dataset


def split(value: float) -> tuple[int, int]:
    """(whole micro-units, rest in 1e-18 units) of one value."""
    scaled = value * 1e6
    high = math.floor(scaled)
    return high, math.floor((scaled - high) * 1e12 + 0.5)


def with_parts(dataset: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (fact rows) with the integer parts of every fractional measure it carries."""
    exprs = []
    for measure in dataset.measures:
        if measure.parts and measure.column in frame.columns:
            scaled = pl.col(measure.column) * 1e6
            high, rest = measure.parts
            exprs += [scaled.floor().cast(pl.Int64).alias(high),
                      ((scaled - scaled.floor()) * 1e12 + 0.5).floor().cast(pl.Int64).alias(rest)]
    return frame.with_columns(exprs) if exprs else frame
