"""The "no published figure" caveat: a page says it when every figure of every row is null, for
each dataset's measures (one, or several), and never when one figure is published (a zero too)."""

from __future__ import annotations

import itertools

import pytest

from app.datasets import DATASETS
from app.query.result import _no_figure


def reference(rows, measures):
    return all(all(r.get(m) is None for m in measures) for r in rows)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_every_row_without_a_figure_and_only_that_is_no_figure(dataset: str) -> None:
    measures = [m.name for m in DATASETS[dataset].measures]
    cells = [None, 0, 0.0, 1.5, 7]
    checked = 0
    for length in (1, 2, 3):
        for values in itertools.product(cells, repeat=len(measures)):
            row = {"area": "x", **dict(zip(measures, values, strict=True))}
            empty = {"area": "y", **dict.fromkeys(measures)}
            for rows in ([row] * length, [empty] * (length - 1) + [row], [row] + [empty] * length):
                assert _no_figure(rows, measures) is reference(rows, measures), rows
                checked += 1
    assert checked > 0
    assert _no_figure([dict.fromkeys(measures)] * 3, measures) is True
    assert _no_figure([{"area": "x"}], []) is True  # a page with no measure column
