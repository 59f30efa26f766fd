"""Reference data shipped in seed/: states, areas, drugs, seizure events. Loaded idempotently."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from app.ingest.normalize import slugify, spelling_index
from app.models import Area, AreaState, Drug, SeizureEvent, State
from app.paths import project_dir


@lru_cache
def seed_json(name: str) -> dict[str, Any]:
    """Read one of the seed/ reference files."""
    path: Path = project_dir("seed") / name
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class ReferenceIndex:
    """Name -> id lookups the loader uses to attach facts to areas and drugs."""

    areas: dict[str, int]
    drugs: dict[str, int]


def ensure_reference(conn: Connection) -> None:
    """Insert or refresh states, drugs, areas and seizure events from seed/."""
    _upsert_states(conn)
    _upsert_drugs(conn)
    _upsert_areas(conn)
    _upsert_events(conn)


def _upsert_states(conn: Connection) -> None:
    have = set(conn.scalars(select(State.code)))
    rows = [s for s in seed_json("states.json")["states"] if s["code"] not in have]
    if rows:
        conn.execute(insert(State), rows)


def _upsert_drugs(conn: Connection) -> None:
    have = {row.slug: row for row in conn.execute(
        select(Drug.id, Drug.slug, Drug.name, Drug.source_name, Drug.aliases))}
    new = []
    for drug in seed_json("drugs.json")["drugs"]:
        values = {k: drug[k] for k in ("slug", "name", "source_name", "aliases")}
        row = have.get(drug["slug"])
        if row is None:
            new.append(values)
        elif any(getattr(row, k) != v for k, v in values.items()):
            conn.execute(update(Drug).where(Drug.id == row.id).values(**values))
    if new:
        conn.execute(insert(Drug), new)  # one execute, in the file's order (their ids follow it)


def _upsert_areas(conn: Connection) -> None:
    """Insert missing areas; rewrite one (and its states) only where seed/ says otherwise."""
    columns = ("slug", "name", "kind", "component", "region", "abbreviation", "state_basis",
               "states", "aliases", "note")
    have = {row.slug: row for row in conn.execute(
        select(Area.id, *(Area.__table__.c[c] for c in columns)))}
    area_states: dict[int, set[str]] = {}
    for area_id, code in conn.execute(select(AreaState.area_id, AreaState.state_code)):
        area_states.setdefault(area_id, set()).add(code)
    new: dict[str, tuple[dict[str, object], list[str]]] = {}  # slug -> (values, states)
    states: list[dict[str, object]] = []  # AreaState rows to insert
    for area in seed_json("areas.json")["areas"]:
        slug = slugify(area["name"])
        values = {
            "slug": slug,
            "name": area["name"],
            "kind": area["kind"],
            "component": area["component"],
            "region": area["region"],
            "abbreviation": area.get("abbreviation"),
            "state_basis": area["state_basis"],
            "states": ",".join(sorted(area["states"])),
            "aliases": area["aliases"],
            "note": area.get("note"),
        }
        row = have.get(slug)
        if row is None:
            new[slug] = (values, area["states"])
            continue
        if any(getattr(row, k) != v for k, v in values.items()):
            conn.execute(update(Area).where(Area.id == row.id).values(**values))
        if area_states.get(row.id, set()) != set(area["states"]):
            conn.execute(delete(AreaState).where(AreaState.area_id == row.id))
            states.extend({"area_id": row.id, "state_code": s} for s in area["states"])
    if new:
        # Every new area in one execute (a first load inserts all 42; psycopg pipelines the rows),
        # then their ids
        conn.execute(insert(Area), [values for values, _ in new.values()])
        ids = dict(conn.execute(select(Area.slug, Area.id).where(Area.slug.in_(new))).all())
        states.extend({"area_id": ids[slug], "state_code": s}
                      for slug, (_, codes) in new.items() for s in codes)
    if states:
        conn.execute(insert(AreaState), states)


def _upsert_events(conn: Connection) -> None:
    areas = dict(conn.execute(select(Area.slug, Area.id)).all())
    drugs = dict(conn.execute(select(Drug.slug, Drug.id)).all())
    have = set(conn.scalars(select(SeizureEvent.slug)))
    rows = []
    for event in seed_json("seizure_events.json")["events"]:
        if event["slug"] in have:
            continue
        row = {k: v for k, v in event.items() if k not in {"area", "drug"}}
        row["event_date"] = dt.date.fromisoformat(event["event_date"])
        row["area_id"] = areas.get(event["area"])
        row["drug_id"] = drugs[event["drug"]]
        rows.append(row)
    if rows:
        conn.execute(insert(SeizureEvent), rows)


def reference_index(conn: Connection) -> ReferenceIndex:
    """Every spelling that names an area or drug (slug, name, aliases) -> its id."""
    areas = conn.execute(select(Area.id, Area.slug, Area.name, Area.aliases))
    drugs = conn.execute(select(Drug.id, Drug.slug, Drug.name, Drug.source_name, Drug.aliases))
    return ReferenceIndex(
        areas=spelling_index((a.id, (a.slug, a.name, *(a.aliases or []))) for a in areas),
        drugs=spelling_index((d.id, (d.slug, d.name, d.source_name, *(d.aliases or [])))
                             for d in drugs),
    )
