"""Groups of states: share of Southwest seizures beside share of encounters; and the split of
seizures between ports of entry and Border Patrol."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.compare.figures import Step, combine
from app.compare.shares import Layer, Share, ShareRequest, ratio, shares
from app.errors import InvalidParameter
from app.periods import months_text
from app.query.catalog import Catalog
from app.query.spec import QuerySpec

MAX_GROUPS = 10


@dataclass(frozen=True)
class GroupComparison:
    """A group of states: its share of Southwest seizures beside its share of encounters."""

    states: str
    seizures: Share
    encounters: Share
    ratio: float | None
    note: str | None


def parse_groups(text: str) -> list[str]:
    """Split `CA,AZ;NM,TX` into groups of states."""
    groups = [g.strip().strip(",") for g in text.split(";")]
    if not text.strip() or any(not g for g in groups):
        raise InvalidParameter("groups", text, "groups are comma lists of states separated by "
                               "';', e.g. CA,AZ;NM,TX, and none may be empty")
    if len(groups) > MAX_GROUPS:
        raise InvalidParameter("groups", text, f"at most {MAX_GROUPS} groups")
    return groups


def seizures_vs_encounters(*, catalog: Catalog, groups: list[str], seized: QuerySpec,
                           encountered: QuerySpec, parts: dict[str, list[Layer]], southwest: Layer,
                           measure: str) -> Step[list[GroupComparison]]:
    """Each group's share of Southwest seizures beside its share of Southwest encounters, both
    over the months both datasets have in the period (like with like)."""
    labels = ("{}", "base_{}", "groups")

    def round_of(months: Sequence[dt.date] | None, period_note: str | None) -> Step:
        s = seized.with_months(months) if months is not None else seized
        e = encountered.with_months(months) if months is not None else encountered
        steps = [shares(catalog=catalog, common=s, base=southwest, parts=parts["seizures"],
                        measure=measure, labels=labels,
                        written=_written(s, groups, [("region", "southwest")])),
                 shares(catalog=catalog, common=e, base={}, parts=parts["encounters"],
                        measure="encounter_count", labels=labels, written=_written(e, groups, []))]

        def finish(outcomes: list[list[Share]]) -> list[GroupComparison] | Step:
            by_seizure, by_encounter = outcomes
            have_s = by_seizure[0].denominator.months
            have_e = by_encounter[0].denominator.months
            if months is None and have_s and have_e and set(have_s) != set(have_e):
                common = sorted(set(have_s) & set(have_e))
                if common:
                    note = (f"compared the {len(common)} month(s) both datasets have in the period "
                            f"({months_text(common)}): seizures cover {months_text(have_s)}, "
                            f"encounters {months_text(have_e)}")
                    return round_of(common, note)
            return [_compare(g, s, e, period_note)
                    for g, s, e in zip(groups, by_seizure, by_encounter, strict=True)]

        return combine(steps, finish)

    return round_of(None, None)


def _written(spec: QuerySpec, groups: list[str], base: list[tuple[str, str]]) -> list[ShareRequest]:
    """The share requests of each group, as /comparisons/*-share would be asked."""
    common = [(k, v) for k, v in spec.params() if k not in ("source", *(n for n, _ in base))]
    return [ShareRequest(common=common, base=base, part=[("state", group)]) for group in groups]


def _compare(group: str, by_seizure: Share, by_encounter: Share,
             period_note: str | None) -> GroupComparison:
    if set(by_seizure.denominator.months) != set(by_encounter.denominator.months):
        note = ("seizures and encounters have no month of the period in common (seizures: "
                f"{months_text(by_seizure.denominator.months)}; encounters: "
                f"{months_text(by_encounter.denominator.months)}): nothing to compare")
        return GroupComparison(states=group, seizures=_nothing(by_seizure, note),
                               encounters=_nothing(by_encounter, note), ratio=None, note=note)
    quotient = ratio(by_seizure.value, by_encounter.value)
    note = quotient.note
    if by_encounter.value == 0:
        note = "the group has no encounters in the period: the ratio is undefined"
    note = "; ".join(n for n in (period_note, note) if n) or None
    return GroupComparison(states=group, seizures=by_seizure, encounters=by_encounter,
                           ratio=quotient.value, note=note)


def _nothing(share: Share, note: str) -> Share:
    """A share with no figure (its numbers cannot be compared with the other dataset's)."""
    return replace(share, value=None, note=note, members=(),
                   numerator=share.numerator.without_value(note),
                   denominator=share.denominator.without_value(note))


def ports_vs_between(*, catalog: Catalog, common: QuerySpec, components: dict[str, Layer],
                     measure: str) -> Step[list[Share]]:
    """Seizures split between ports of entry (OFO) and Border Patrol (USBP)."""
    return shares(catalog=catalog, common=common, base={}, parts=list(components.values()),
                  measure=measure, breakdown=False)
