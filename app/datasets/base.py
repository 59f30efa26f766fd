"""The parts a dataset is declared from: measures, dimensions, release families, caveats, rules.

A dataset module (seizures.py, encounters.py, overdose_deaths.py) builds one `Dataset` from these.
Everything that differs between datasets is a value here; the query builder, parser, renderer,
ingest loader, rollups, snapshot and comparisons read it and never ask a dataset's name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Float, Table, cast, func, literal, select, union_all

from app.datasets.time import TimeAxis
from app.datasets.values import Values

if TYPE_CHECKING:
    from app.datasets.shapes import Shape

Aggregate = Callable[[Any], Any]  # fact or rollup table -> SQL aggregate expression


@dataclass(frozen=True)
class Measure:
    """A figure summed over the facts: its SQL, unit and how it may be combined."""

    name: str
    unit: str
    description: str
    aggregate: Aggregate
    # Stored column this measure sums (rollups keep it); None for one derived from another.
    column: str | None
    # A share or a sum across groups may add it up; a rate may not.
    additive: bool = True
    integer: bool = False
    # Significant digits written (the precision of the agency's release), None: as stored.
    digits: int | None = None
    # For a fractional measure: two integer columns stored beside `column` (whole micro-units,
    # then the rest in 1e-18 units; see `exact_sum`), so sums are exact and the same whatever
    # rows (facts or rollups) and whatever order they are added up in.
    parts: tuple[str, str] | None = None

    def present(self, value: Any) -> Any:
        """The value as responses write it."""
        return None if value is None else self.presenter()(value)

    def presenter(self) -> Callable[[Any], Any]:
        """`present` for a value known not to be None, as one cheap callable (rows use it). A
        rounded measure's is a `Rounded` table, one per precision for the process: rows look
        values up in it by subscript (a figure repeats across requests: a hit costs a dict
        lookup instead of formatting the number again)."""
        if self.integer:
            return int
        if self.digits:
            return rounded(self.digits)
        return float


class Rounded(dict):
    """Values rounded to a number of significant digits, remembered: `table[value]` (or
    `table(value)`) is `float(format(float(value), ".<digits>g"))`. A zero is never kept (0.0 and
    -0.0 are equal keys, and each keeps its sign), nor a NaN; past `LIMIT` entries the table starts
    afresh, so it holds at most 1.6 MB (tracemalloc; a worker's RSS target is 150 MB,
    bench/load.py). 16,000 of bench/load.py's distinct queries meet 18,100 distinct values, and
    no more are met as the run goes on: the limit holds them."""

    LIMIT = 20_000

    def __init__(self, digits: int):
        super().__init__()
        self.spec = f".{digits}g"

    def __missing__(self, value: Any) -> float:
        out = float(format(float(value), self.spec))
        if value and value == value:
            if len(self) >= self.LIMIT:
                self.clear()
            self[value] = out
        return out

    __call__ = dict.__getitem__


@functools.cache
def rounded(digits: int) -> Rounded:
    """The process's table for one precision."""
    return Rounded(digits)


@dataclass(frozen=True)
class Dimension:
    """A way to filter and group a dataset: its column, the values users may give, its output."""

    name: str
    description: str
    values: Values
    shape: Shape
    synonyms: tuple[str, ...] = ()
    # When neither filtered nor grouped, only these canonical values are read (None: all).
    default: tuple[Any, ...] | None = None
    # Filtering by a synonym also says what kind of value is meant (sector: Border Patrol).
    synonym_scope: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # When grouped but not filtered, only rows meeting this condition are read (deaths: states).
    grouped: Callable[[Any], Any] | None = None
    # What each synonym means, for the documentation (e.g. sector: Border Patrol sectors only).
    synonym_help: Mapping[str, str] = field(default_factory=dict)
    example: str | None = None

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)

    @property
    def column(self) -> str | None:
        return self.shape.column

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(output.label for output in self.shape.outputs)


@dataclass(frozen=True)
class Family:
    """A family of releases of one layout. Each answers for the dimensions it carries, within the
    population it covers (`only`: e.g. the Southwest border, or Border Patrol alone)."""

    key: str
    title: str
    dimensions: frozenset[str]
    formats: tuple[str, ...]
    only: Mapping[str, frozenset[str]] = field(default_factory=dict)
    exact: bool = True
    caveat: str | None = None

    def restriction_text(self, dim: str) -> str:
        return ", ".join(sorted(self.only[dim]))


@dataclass(frozen=True)
class Caveat:
    """A sentence every answer carries when `applies(spec)` holds."""

    text: str
    applies: Callable[[Any], bool]


Rule = Callable[[Any], None]  # spec -> raise InvalidParameter when the data cannot answer it


@dataclass(frozen=True)
class Dataset:
    name: str
    path: str
    title: str
    description: str
    table: Table
    rollup_table: Table | None
    measures: tuple[Measure, ...]
    dimensions: tuple[Dimension, ...]
    time: TimeAxis
    families: tuple[Family, ...]
    # Column naming a fact's family, where several families share the table.
    family_column: str | None = None
    # "month": a release is current for whole months; "cell": for single figures (overdose deaths)
    revision: str = "month"
    # Dimensions kept pre-aggregated together (rollups); a rollup is named by joining them.
    rollups: tuple[tuple[str, ...], ...] = ()
    # Checks a parsed request must pass (publication rules).
    rules: tuple[Rule, ...] = ()
    caveats: tuple[Caveat, ...] = ()
    # The comparisons endpoint computing shares of this dataset, if any.
    share_path: str | None = None

    def __post_init__(self) -> None:
        by_name: dict[str, Dimension] = {}
        for dim in self.dimensions:
            for name in dim.names():
                by_name[name] = dim
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_measure_by_name", {m.name: m for m in self.measures})

    def dimension(self, name: str) -> Dimension | None:
        return self._by_name.get(name)  # type: ignore[attr-defined]

    def measure(self, name: str) -> Measure | None:
        return self._measure_by_name.get(name)  # type: ignore[attr-defined]

    @property
    def model_name(self) -> str:
        """The dataset's name as the prefix of its typed models: `overdose_deaths` ->
        `OverdoseDeaths` (query parameters, response rows and documents)."""
        return "".join(part.title() for part in self.name.split("_"))

    @property
    def measure_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.measures)

    @property
    def additive_measures(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.measures if m.additive)

    def family(self, key: str) -> Family | None:
        return next((f for f in self.families if f.key == key), None)

    @property
    def stored_dimensions(self) -> tuple[Dimension, ...]:
        """Dimensions with a column of their own in the fact table."""
        return tuple(d for d in self.dimensions if d.shape.stored)

    @property
    def fact_key(self) -> tuple[str, ...]:
        """The columns that identify one figure of a release (besides its period)."""
        return tuple(d.column for d in self.stored_dimensions)

    @property
    def stored_measures(self) -> tuple[str, ...]:
        return tuple(m.column for m in self.measures if m.column)

    @property
    def stored_parts(self) -> tuple[str, ...]:
        """The integer columns that carry fractional measures exactly (see `Measure.parts`)."""
        return tuple(c for m in self.measures if m.column and m.parts for c in m.parts)

    @property
    def revision_key(self) -> str:
        """The key release periods are recorded under when releases are current cell by cell."""
        return self.families[0].key

    @property
    def fact_columns(self) -> tuple[str, ...]:
        """Every column of the fact table an ingest writes, in order."""
        family = (self.family_column,) if self.family_column else ()
        return ("release_id", *family, *(c for c, _ in self.time.stored), *self.fact_key,
                *self.stored_measures, *self.stored_parts, "is_current")

    @property
    def cell_key(self) -> tuple[str, ...]:
        """The columns that identify one figure of a release, its period included."""
        return (self.time.column, *self.fact_key)

    @property
    def parsed_columns(self) -> dict[str, str]:
        """What an ingest parses a file of this dataset into: column -> kind (date, int, float,
        str), before names are resolved to ids."""
        out = dict(self.time.stored)
        for dim in self.stored_dimensions:
            out.update(dict.fromkeys(dim.shape.parsed_columns, "str"))
        for measure in self.measures:
            if measure.column:
                out[measure.column] = "int" if measure.integer else "float"
        return out

    @property
    def snapshot_columns(self) -> dict[str, str]:
        """The seed snapshot's columns of this dataset (after `release`): column -> kind."""
        family = {self.family_column: "str"} if self.family_column else {}
        out = {**family, **dict(self.time.stored)}
        for dim in self.stored_dimensions:
            out[dim.shape.snapshot_column] = "str"
        for measure in self.measures:
            if measure.column:
                out[measure.column] = "int" if measure.integer else "float"
        return out

    def rollup_columns(self, dims: tuple[str, ...] | set[str]) -> frozenset[str]:
        """The stored columns a rollup must keep to answer for these dimensions."""
        return frozenset(c for name in dims for c in self.dimension(name).shape.rollup_columns())

    @property
    def rollup_names(self) -> frozenset[str]:
        """The declared rollups by name (their dimensions joined by commas)."""
        return frozenset(",".join(dims) for dims in self.rollups) if self.rollup_table is not None \
            else frozenset()

    def rollups_present(self) -> Any:
        """SQL: the names of the declared rollups that hold rows (one index probe each), or None
        for a dataset without rollups. The catalog reads it to plan (app/query/catalog.py); the
        writers to find the rollups to write (app/ingest/rollups.py)."""
        if self.rollup_table is None or not self.rollups:
            return None
        table = self.rollup_table
        return union_all(*(select(literal(name).label("rollup"))
                           .where(select(table.c.id).where(table.c.rollup == name).exists())
                           for name in sorted(self.rollup_names)))

    def smallest_rollup(self, dims: set[str], present: frozenset[str] | None = None) -> str | None:
        """The name of the smallest rollup keeping every column these dimensions need, if any
        (among those the database holds, when `present` says which)."""
        if self.rollup_table is None:
            return None
        needed = self.rollup_columns(dims)
        fitting = [r for r in self.rollups if needed <= self.rollup_columns(r)
                   and (present is None or ",".join(r) in present)]
        return ",".join(min(fitting, key=len)) if fitting else None


# Units of a measure's exact parts: whole micro-units, then the rest in 1e-18 units.
PART_SCALES = (1e6, 1e18)


def exact_sum(table: Any, parts: tuple[str, str]) -> Any:
    """SQL: the sum of a fractional measure from its integer parts. Integer sums are exact, so
    the result depends only on which rows are added, never on their order or on whether they
    were summed before (rollups): an answer computed from the facts today is the answer computed
    from the rollups then, to the last bit. The float is the parts' sums scaled and added, the
    same IEEE operations on every backend.

    Each sum is read as a BIGINT before it becomes a float: Postgres sums BIGINTs as NUMERIC,
    and NUMERIC turns into a float by way of its text, per group; through BIGINT it costs less
    (0.2 ms of 2.9 for fentanyl by area and fiscal year). The value is the same integer; a sum
    past BIGINT's range (9.2e18: 9.2 trillion pounds, or 9.2 million rows of the 1e-18 part,
    each at most 1e12) would be an error, never a wrong figure."""
    high, low = (cast(cast(func.sum(table.c[c]), BigInteger), Float) for c in parts)
    return high / literal(PART_SCALES[0], Float) + low / literal(PART_SCALES[1], Float)
