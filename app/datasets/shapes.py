"""How a dimension sits in SQL: the column it filters, the columns a group_by adds, the join.

The query builder asks a dimension's shape for `condition(...)` and `outputs(...)`; no shape knows
which dataset it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, false, func, literal, or_

from app.models import Area, Drug
from app.vocabulary import NATIONAL_CODE


@dataclass(frozen=True)
class Output:
    """One output column of a grouped dimension: SQL label, expression, Python presentation."""

    label: str
    expression: Callable[[Any], Any]  # fact table -> SQL expression (joined tables available)
    present: Callable[[Any], Any] | None = None
    join: Table | None = None
    # What the column holds, for the response schema (default: the dimension's description).
    description: str | None = None


@dataclass(frozen=True)
class Shape:
    """A stored column: filter with IN, group by the column itself."""

    column: str | None
    outputs: tuple[Output, ...] = ()
    # Rollups and families are keyed by stored columns; a derived shape has none of its own.
    stored: bool = True
    # A derived dimension's values stand for values of another (a seizure's state: its areas).
    stands_for: str | None = None
    # The columns an ingest parses from a file for it (an id column is parsed as names first).
    parsed: tuple[str, ...] | None = None
    # Its column in the seed snapshot (an id is written as the reference's slug).
    snapshot: str | None = None
    # Its outputs are columns of the joined table's row its id column names, one row an id (a
    # slug and a name): a query groups by the id and joins the table after summing
    # (app.query.build), not by the joined labels.
    keyed: bool = False

    @property
    def parsed_columns(self) -> tuple[str, ...]:
        if self.parsed is not None:
            return self.parsed
        return (self.column,) if self.stored and self.column else ()

    @property
    def snapshot_column(self) -> str | None:
        return self.snapshot or (self.column if self.stored else None)

    def condition(self, fact: Any, values: Sequence[Any], catalog: Any) -> Any:
        return fact.c[self.column].in_(values)

    def join_on(self, fact: Any, table: Table) -> Any:
        return table.c.id == fact.c[self.column]

    def rollup_columns(self) -> tuple[str, ...]:
        """The stored columns a rollup must keep to answer for this dimension."""
        return (self.column,) if self.column else ()


def plain(name: str, present: Callable[[Any], Any] | None = None) -> Shape:
    return Shape(column=name, outputs=(Output(name, lambda fact: fact.c[name], present),))


def referenced(name: str, column: str, table: Table, parsed: tuple[str, ...]) -> Shape:
    """An id column joined to a reference table: outputs its slug and its name; files name it
    (`parsed`), the ingest resolves the names to ids, the snapshot writes the slug."""
    return Shape(column=column, outputs=(
        Output(name, lambda fact: table.c.slug, join=table),
        Output(f"{name}_name", lambda fact: table.c.name, join=table,
               description=f"the {name}'s display name."),
    ), parsed=parsed, snapshot=name, keyed=True)


# How files name an area of responsibility (app/ingest/resolve.py matches it to the reference).
AREA_PARSED = ("area_name", "area_kind", "area_component", "area_abbreviation", "area_state_hint")
AREA = referenced("area", "area_id", Area.__table__, AREA_PARSED)
DRUG = referenced("drug", "drug_id", Drug.__table__, ("drug",))


@dataclass(frozen=True)
class AreaStates(Shape):
    """States through the area of responsibility (a seizure has no state of its own): filter the
    areas covering a state, group by the area's states label ("NM,TX"), never counting an area
    twice."""

    column: str | None = "area_id"
    outputs: tuple[Output, ...] = (
        Output("state", lambda fact: Area.__table__.c.states, join=Area.__table__),)
    stored: bool = False
    stands_for: str | None = "area"

    def members(self, values: tuple[Any, ...], catalog: Any) -> list[Any]:
        """The areas covering any of these states."""
        wanted = set(values)
        return [a.id for a in catalog.areas if set(a.states) & wanted]

    def condition(self, fact: Any, values: Sequence[Any], catalog: Any) -> Any:
        wanted = set(values)
        ids = [a.id for a in catalog.areas if set(a.states) & wanted]
        return fact.c.area_id.in_(ids) if ids else false()

    def rollup_columns(self) -> tuple[str, ...]:
        return ("area_id",)


@dataclass(frozen=True)
class NationalOrState(Shape):
    """A state column where NULL is the nation (overdose deaths): canonical None means US."""

    column: str | None = "state"
    outputs: tuple[Output, ...] = (
        Output("state", lambda fact: func.coalesce(fact.c.state, literal(NATIONAL_CODE))),)
    stored: bool = True

    def condition(self, fact: Any, values: Sequence[Any], catalog: Any) -> Any:
        codes = [v for v in values if v is not None]
        clauses = [fact.c.state.in_(codes)] if codes else []
        if None in values:
            clauses.append(fact.c.state.is_(None))
        return or_(*clauses) if clauses else false()
