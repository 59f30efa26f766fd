"""Which release is current for each (revision key, month), planned for a whole ingest command.

A release ranks by the end, then the start, of the period it covers, then by load order (its id;
every release of a command gets a larger id than those already loaded). All files of a command are
parsed before anything is written, so the release that ends up current for each month is known
before the first row goes in: rows are inserted with their final `is_current`, and only releases
loaded by earlier commands ever have their flags turned off (no row of this command is updated).
The statuses of each release still follow the load order: they compare it with the release that
was current just before it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, Table, select, update

from app.models import Release, ReleasePeriod


@dataclass(frozen=True)
class PlannedRelease:
    """A monthly release of this command that will be loaded (not already in the database)."""

    order: int
    key: str
    fact: Table
    start: dt.date
    end: dt.date
    months: frozenset[dt.date]

    @property
    def rank(self) -> tuple:
        return (self.end, self.start, (1, self.order))  # after every release already loaded


class CurrencyPlan:
    """The current release of every month the command's releases touch, as loading goes on."""

    def __init__(self, conn: Connection, releases: list[PlannedRelease]):
        self.best: dict[tuple[str, dt.date], tuple] = {}
        self.current: dict[tuple[str, dt.date], int] = {}
        self.facts: dict[str, Table] = {r.key: r.fact for r in releases}
        for key in sorted(self.facts):
            rows = conn.execute(
                select(ReleasePeriod.release_id, ReleasePeriod.period, ReleasePeriod.is_current,
                       Release.period_end, Release.period_start)
                .join(Release, Release.id == ReleasePeriod.release_id)
                .where(ReleasePeriod.revision_key == key))
            for row in rows:
                cell = (key, row.period)
                rank = (row.period_end, row.period_start, (0, row.release_id))
                if cell not in self.best or rank > self.best[cell]:
                    self.best[cell] = rank
                if row.is_current:
                    self.current[cell] = row.release_id
        self.before_command = dict(self.current)
        # The release of this command that ends up current, where one beats the loaded releases.
        self.final: dict[tuple[str, dt.date], int] = {}
        best = dict(self.best)
        for release in releases:
            for month in release.months:
                cell = (release.key, month)
                if cell not in best or release.rank > best[cell]:
                    best[cell] = release.rank
                    self.final[cell] = release.order

    def load(self, release: PlannedRelease, release_id: int) -> tuple[list[dt.date], dict[dt.date, int]]:
        """(months this release wins now, the release current before it for each month)."""
        won, before = [], {}
        for month in sorted(release.months):
            cell = (release.key, month)
            if cell in self.current:
                before[month] = self.current[cell]
            if cell not in self.best or release.rank > self.best[cell]:
                won.append(month)
                self.best[cell] = release.rank
                self.current[cell] = release_id
        return won, before

    def stays_current(self, release: PlannedRelease) -> set[dt.date]:
        """The months this release is still current for when the command ends."""
        return {m for m in release.months if self.final.get((release.key, m)) == release.order}

    def retire(self, conn: Connection) -> None:
        """Turn off the figures of earlier commands' releases for the months this command took."""
        taken: dict[tuple[str, int], list[dt.date]] = defaultdict(list)
        for (key, month), release_id in self.before_command.items():
            if (key, month) in self.final:
                taken[(key, release_id)].append(month)
        for (key, release_id), months in sorted(taken.items()):
            fact = self.facts[key]
            conn.execute(update(fact).where(fact.c.release_id == release_id,
                                            fact.c.period.in_(months)).values(is_current=False))
            conn.execute(update(ReleasePeriod).where(
                ReleasePeriod.release_id == release_id, ReleasePeriod.period.in_(months)
            ).values(is_current=False))
