"""Attach a parsed file's area and drug names to reference ids, once per distinct name.

A name the reference lacks is an error naming its first line, with the closest known name, unless
the command allows new areas (`--allow-new-areas`) or drugs (`--allow-new-drugs`): then it is
added, recording what the file says.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, insert, select

from app.ingest.errors import IngestError
from app.ingest.normalize import closest, slugify
from app.ingest.options import IngestOptions
from app.ingest.parsers import AREA_COLUMNS
from app.ingest.reader import ParsedFile
from app.models import Area, AreaState, Drug, State
from app.reference.seed import ReferenceIndex

AREA_SOURCE_COLUMNS = ("Area of Responsibility", "Sector")
_AREA = list(AREA_COLUMNS)


def with_area_and_drug_ids(conn: Connection, parsed: ParsedFile, index: ReferenceIndex,
                           options: IngestOptions) -> pl.DataFrame:
    """parsed.frame plus area_id and drug_id (null where the dataset has none)."""
    frame = parsed.frame
    problems: list[IngestError] = []
    if "area_name" in frame.columns:
        frame, problem = _attach_areas(conn, parsed, frame, index, options)
        problems += [problem] if problem else []
    if "drug" in frame.columns:
        frame, problem = _attach_drugs(conn, parsed, frame, index, options)
        problems += [problem] if problem else []
    if problems:
        raise min(problems, key=lambda e: e.line)  # areas come first on a tie, as in the file
    return frame


def _attach_areas(conn: Connection, parsed: ParsedFile, frame: pl.DataFrame,
                  index: ReferenceIndex, options: IngestOptions):
    refs = (frame.filter(pl.col("area_name").is_not_null())
            .group_by(_AREA, maintain_order=True)
            .agg(pl.col("line").first(), pl.col("region").first()))
    ids: list[int] = []
    unknown: list[tuple[int, str]] = []
    for ref in refs.iter_rows(named=True):
        area_id = _find_area(index, ref)
        if area_id is None:
            if options.allow_new_areas:
                area_id = _add_area(conn, index, ref)
            else:
                unknown.append((ref["line"], ref["area_name"]))
        ids.append(area_id or 0)
    problem = None
    if unknown:
        line, name = min(unknown)
        known = list(conn.scalars(select(Area.name)))
        problem = _unknown(parsed, line, f"unknown area of responsibility {name!r}; did you mean "
                           f"{closest(name, known)!r}? (run with --allow-new-areas to add it)",
                           AREA_SOURCE_COLUMNS)
    table = refs.select(*_AREA).with_columns(pl.Series("area_id", ids, dtype=pl.Int64))
    frame = frame.join(table, on=_AREA, how="left", nulls_equal=True, maintain_order="left")
    return frame, problem


def _find_area(index: ReferenceIndex, ref: dict) -> int | None:
    for spelling in (ref["area_name"], ref["area_abbreviation"]):
        if spelling and slugify(spelling) in index.areas:
            return index.areas[slugify(spelling)]
    return None


def _add_area(conn: Connection, index: ReferenceIndex, ref: dict) -> int:
    slug = slugify(ref["area_name"])
    hint = ref["area_state_hint"]
    abbreviation = ref["area_abbreviation"]
    area_id = conn.execute(
        insert(Area).values(
            slug=slug, name=ref["area_name"], kind=ref["area_kind"],
            component=ref["area_component"], region=ref["region"], abbreviation=abbreviation,
            state_basis="headquarters" if hint else "none", states=hint or "",
            aliases=[abbreviation] if abbreviation else [],
            note="Added by ingest: not in seed/areas.json.",
        ).returning(Area.id)
    ).scalar_one()
    if hint and conn.execute(select(State.code).where(State.code == hint)).first():
        conn.execute(insert(AreaState).values(area_id=area_id, state_code=hint))
    index.areas[slug] = area_id
    return area_id


def _attach_drugs(conn: Connection, parsed: ParsedFile, frame: pl.DataFrame,
                  index: ReferenceIndex, options: IngestOptions):
    names = frame.group_by("drug", maintain_order=True).agg(pl.col("line").first())
    ids: list[int] = []
    unknown: list[tuple[int, str]] = []
    for name, line in names.iter_rows():
        drug_id = index.drugs.get(slugify(name))
        if drug_id is None:
            if options.allow_new_drugs:
                drug_id = _add_drug(conn, index, name)
            else:
                unknown.append((line, name))
        ids.append(drug_id or 0)
    problem = None
    if unknown:
        line, name = min(unknown)
        known = list(conn.scalars(select(Drug.source_name)))
        problem = _unknown(parsed, line, f"unknown drug type {name!r}; did you mean "
                           f"{closest(name, known)!r}? (run with --allow-new-drugs to add it)",
                           ("Drug Type",))
    table = names.select("drug").with_columns(pl.Series("drug_id", ids, dtype=pl.Int64))
    return frame.join(table, on="drug", how="left", maintain_order="left"), problem


def _add_drug(conn: Connection, index: ReferenceIndex, name: str) -> int:
    clean = name.rstrip("*").strip()
    drug_id = conn.execute(
        insert(Drug).values(slug=slugify(clean), name=clean, source_name=name, aliases=[])
        .returning(Drug.id)
    ).scalar_one()
    index.drugs[slugify(name)] = drug_id
    return drug_id


def _unknown(parsed: ParsedFile, line: int, message: str, columns: tuple[str, ...]) -> IngestError:
    column = next(c for c in columns if c in parsed.columns)
    return IngestError(str(parsed.path), line, parsed.columns[column] + 1, message,
                       column_name=column)
