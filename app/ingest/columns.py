"""Convert text columns through the normalising functions once per distinct value.

A `Columns` wraps the raw table of one file. Each conversion maps the distinct values (or distinct
combinations) of its input columns through a plain Python function, joins the results back and
records, per row, the message of a value that failed. `first_error` then names the first bad row:
the lowest line, and on it the first failing check in the order the checks were made (the order the
row-by-row parser used), so messages stay those of a row-by-row reader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from app.ingest.errors import IngestError


@dataclass
class Check:
    """One per-row check: its error column (message or null) and the file column it names."""

    error_column: str
    column: str  # canonical header name ('' for a whole-row problem: reported as column 1)


@dataclass
class Columns:
    """A file's rows being converted: `frame` holds line, raw c0..cN and the converted columns."""

    file: str
    frame: pl.DataFrame
    positions: dict[str, int]  # canonical column -> index in the file's header
    checks: list[Check] = field(default_factory=list)

    def raw(self, column: str) -> str:
        return f"c{self.positions[column]}"

    def has(self, column: str) -> bool:
        return column in self.positions

    def convert(self, column: str, fn: Callable[[str], Any], out: str, dtype: pl.DataType,
                *, extra: Sequence[str] = ()) -> None:
        """out = fn(value of `column`, *values of the `extra` converted columns), per distinct input."""
        self.derive([self.raw(column), *extra], lambda raw, *rest: fn(raw, *rest), {out: dtype},
                    column=column)

    def derive(self, inputs: list[str], fn: Callable[..., Any], outputs: dict[str, pl.DataType],
               *, column: str) -> None:
        """Map each distinct combination of `inputs` through fn -> one value or a tuple of outputs."""
        distinct = self.frame.select(inputs).unique()
        results: dict[str, list] = {name: [] for name in outputs}
        errors: list[str | None] = []
        for values in distinct.iter_rows():
            if any(v is None for v in values):
                answer, error = None, None  # a short row: reported as such, not per value
            else:
                try:
                    answer, error = fn(*values), None
                except ValueError as exc:
                    answer, error = None, str(exc)
            parts = answer if len(outputs) > 1 else (answer,)
            for name, value in zip(outputs, parts or (None,) * len(outputs), strict=True):
                results[name].append(value)
            errors.append(error)
        error_column = f"__error{len(self.checks)}"
        table = distinct.with_columns(
            *(pl.Series(name, results[name], dtype=dtype) for name, dtype in outputs.items()),
            pl.Series(error_column, errors, dtype=pl.String),
        )
        self.frame = self.frame.join(table, on=inputs, how="left", nulls_equal=True,
                                     maintain_order="left")
        self.checks.append(Check(error_column, column))

    def check(self, message: pl.Expr, *, column: str) -> None:
        """Record a vectorised check: `message` is the error text for bad rows, null otherwise."""
        error_column = f"__error{len(self.checks)}"
        self.frame = self.frame.with_columns(message.alias(error_column))
        self.checks.append(Check(error_column, column))

    def first_error(self) -> IngestError | None:
        """The error of the lowest bad line (its first failing check), or None if all rows pass."""
        names = [c.error_column for c in self.checks]
        if not names:
            return None
        bad = self.frame.filter(pl.any_horizontal(pl.col(n).is_not_null() for n in names))
        if bad.is_empty():
            return None
        row = bad.sort("line").row(0, named=True)
        for check in self.checks:
            message = row[check.error_column]
            if message is None:
                continue
            column = check.column
            position = self.positions.get(column, -1)
            return IngestError(self.file, row["line"], position + 1 if position >= 0 else 1,
                               message, column_name=column if position >= 0 else "")
        return None

    def raise_first_error(self) -> None:
        error = self.first_error()
        if error is not None:
            raise error
