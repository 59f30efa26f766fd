"""Vintages: the data as the API held it once a given release was loaded (`as_of=`).

Every release's rows are kept, so the answer "as of" release N is computed from the releases
loaded up to N (ids 1..N, ids follow load order) with the rule the ingest applies: a release ranks
by the end, then the start, of the period it covers, then by load order; for monthly data the best
release covering a (family, month) answers for the whole month; for data settled cell by cell
(overdose deaths) the best release publishing a cell answers for that cell. Rollups hold current
figures only, so a vintage is always planned from the facts.

`as_of` is a release id or a past day (YYYY-MM-DD: the releases loaded by the end of that day,
UTC, by `loaded_at`). A vintage never changes once its releases are loaded, so answers under it are
immutable.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select

from app.errors import InvalidParameter

AS_OF_HELP = ("a release id (see /releases) or a past day YYYY-MM-DD (the releases loaded by the "
              "end of that day, UTC)")


@dataclass(frozen=True)
class Vintage:
    """The releases an answer is computed from: ids 1..release_id."""

    as_of: str  # as asked, normalised: "3" or "2025-06-01"
    release_id: int
    release_ids: tuple[int, ...]

    def document(self) -> dict[str, Any]:
        """How meta names the vintage."""
        return {"as_of": self.as_of, "release_id": self.release_id,
                "release_ids": list(self.release_ids)}


def parse_as_of(text: str) -> int | dt.date:
    """A release id or a day; anything else is a 422 naming `as_of`."""
    value = str(text).strip()
    if re.fullmatch(r"\d{1,9}", value):
        return int(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidParameter("as_of", text, f"as_of must be {AS_OF_HELP}")


def resolve_vintage(text: str, releases: Iterable[Any], *, today: dt.date | None = None) -> Vintage:
    """The vintage `as_of` names among the loaded releases (objects with id and loaded_at)."""
    loaded = sorted(releases, key=lambda r: r.id)
    wanted = parse_as_of(text)
    if not loaded:
        raise InvalidParameter("as_of", text, "no release is loaded yet: there is no vintage to "
                               "answer from")
    ids = [r.id for r in loaded]
    if isinstance(wanted, int):
        if wanted not in ids:
            raise InvalidParameter(
                "as_of", text, f"release {wanted} is not loaded; loaded releases are "
                f"{_ranges(ids)} (see /releases)", [str(i) for i in ids])
        return Vintage(str(wanted), wanted, tuple(i for i in ids if i <= wanted))
    today = today or dt.datetime.now(dt.UTC).date()
    if wanted >= today:
        raise InvalidParameter(
            "as_of", text, f"as_of={wanted} has not ended yet (today is {today}, UTC): a day "
            "that is still running can gain releases. Give a past day, a release id (the newest "
            f"is {ids[-1]}), or leave as_of out for the current data")
    end = dt.datetime.combine(wanted + dt.timedelta(days=1), dt.time(), dt.UTC)
    by_then = [r.id for r in loaded if _aware(r.loaded_at) < end]
    if not by_then:
        first = loaded[0]
        raise InvalidParameter(
            "as_of", text, f"no release was loaded by the end of {wanted}: the first, release "
            f"{first.id}, was loaded on {_aware(first.loaded_at):%Y-%m-%d} (UTC)")
    newest = max(by_then)
    return Vintage(wanted.isoformat(), newest, tuple(i for i in ids if i <= newest))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _ranges(ids: list[int]) -> str:
    return f"{ids[0]}..{ids[-1]}" if ids == list(range(ids[0], ids[-1] + 1)) else \
        ", ".join(map(str, ids))


def rank_key(release: Any) -> tuple:
    """How releases rank for a period (higher wins): the ingest's rule."""
    return (release.period_end, release.period_start, release.id)


def current_at(periods: Iterable[tuple[str, dt.date, int]], releases: Mapping[int, Any],
               ) -> dict[str, dict[dt.date, int]]:
    """Revision key -> period -> the best-ranked release among `releases` covering it, from
    (revision key, period, release id) rows."""
    best: dict[str, dict[dt.date, int]] = {}
    for key, period, release_id in periods:
        release = releases.get(release_id)
        if release is None:
            continue
        months = best.setdefault(key, {})
        held = months.get(period)
        if held is None or rank_key(release) > rank_key(releases[held]):
            months[period] = release_id
    return best


def runs(months: Mapping[dt.date, int]) -> list[tuple[int, dt.date, dt.date]]:
    """(release, first, last): consecutive periods answered by one release. Any period between
    first and last that is not listed has no release in the vintage, so the range is exact."""
    out: list[tuple[int, dt.date, dt.date]] = []
    for period in sorted(months):
        release = months[period]
        if out and out[-1][0] == release:
            out[-1] = (release, out[-1][1], period)
        else:
            out.append((release, period, period))
    return out


def monthly_rows(fact: Any, months: Mapping[dt.date, int], column: str = "period") -> Any:
    """WHERE: the rows of the release answering each month (a few ranges on the indexed
    (release_id, period))."""
    clauses = [and_(fact.c.release_id == release, fact.c[column] >= first, fact.c[column] <= last)
               for release, first, last in runs(months)]
    return or_(*clauses) if clauses else false()


def cell_rows(fact: Any, cell_key: tuple[str, ...], releases: list[Any]) -> Any:
    """WHERE: each cell's row from the best-ranked release of `releases` that publishes it (one
    uncorrelated window over the facts: NULL states partition together, as in GROUP BY)."""
    if not releases:
        return false()
    ordered = sorted(releases, key=rank_key)
    ranks = {r.id: place for place, r in enumerate(ordered)}
    facts = fact.alias("vintage_facts")
    ranked = (select(facts.c.id, func.row_number().over(
        partition_by=[facts.c[c] for c in cell_key],
        order_by=case(ranks, value=facts.c.release_id).desc()).label("place"))
        .where(facts.c.release_id.in_(list(ranks))).subquery("vintage_cells"))
    return fact.c.id.in_(select(ranked.c.id).where(ranked.c.place == 1))
