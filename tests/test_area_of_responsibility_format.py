"""The "CBP nationwide encounters by area of responsibility" format (no such file ships here).

A small file in that exact layout (FORMATS.md) is built in tmp_path: detection from the header,
areas matched to the seeded reference (never duplicated), counts exact.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.ingest.errors import IngestError
from app.ingest.load import ingest_paths
from app.ingest.options import IngestOptions
from app.ingest.reader import read_file
from app.models import Area, Encounter, Release
from app.reference.seed import ensure_reference

HEADER = ("Fiscal Year,Month Grouping,Month (abbv),Component,Land Border Region,Area of Responsibility,"
          "AOR (Abbv),Demographic,Citizenship,Title of Authority,Encounter Type,Encounter Count")

# (line of the file, the seeded area it must be attached to)
ROWS = [
    ("2023,FYTD,DEC,Office of Field Operations,Northern Land Border,Boston Field Office,Boston,"
     "Accompanied Minors,BRAZIL,Title 42,Expulsions,3", "Boston Field Office"),
    ("2023,FYTD,OCT,U.S. Border Patrol,Southwest Land Border,Rio Grande Valley Sector,"
     "Rio Grande Valley,Single Adults,MEXICO,Title 8,Apprehensions,15234", "Rio Grande Valley Sector"),
    ("2023,FYTD,OCT,U.S. Border Patrol,Southwest Land Border,Rio Grande Valley Sector,"
     "Rio Grande Valley,FMUA,HONDURAS,Title 8,Apprehensions,4120", "Rio Grande Valley Sector"),
    ("2023,FYTD,NOV,U.S. Border Patrol,Southwest Land Border,Del Rio Sector,Del Rio,Single Adults,"
     "VENEZUELA,Title 8,Apprehensions,9876", "Del Rio Sector"),
    ("2023,FYTD,NOV,U.S. Border Patrol,Southwest Land Border,El Paso Sector,El Paso,UC / Single Minors,"
     "GUATEMALA,Title 8,Apprehensions,812", "El Paso Sector"),
    ("2023,FYTD,DEC,Office of Field Operations,Southwest Land Border,El Paso Field Office,El Paso,"
     "Single Adults,MEXICO,Title 42,Expulsions,1201", "El Paso Field Office"),
    ("2023,FYTD,DEC,Office of Field Operations,Southwest Land Border,San Diego Field Office,San Diego,"
     'Single Adults,"CHINA, PEOPLES REPUBLIC OF",Title 8,Inadmissibles,330', "San Diego Field Office"),
    ("2023,FYTD,DEC,Office of Field Operations,Southwest Land Border,Laredo Field Office,Laredo,FMUA,"
     "MEXICO,Title 8,Inadmissibles,95", "Laredo Field Office"),
    ("2023,FYTD,OCT,Office of Field Operations,Southwest Land Border,Tucson Field Office,Tucson,"
     "Single Adults,MEXICO,Title 8,Inadmissibles,1440", "Tucson Field Office"),
    ("2023,FYTD,OCT,U.S. Border Patrol,Southwest Land Border,Tucson Sector,Tucson,Single Adults,"
     "ECUADOR,Title 8,Apprehensions,7320", "Tucson Sector"),
    ("2023,FYTD,NOV,U.S. Border Patrol,Southwest Land Border,Yuma Sector,Yuma,FMUA,CUBA,Title 8,"
     "Apprehensions,2005", "Yuma Sector"),
    ("2023,FYTD,NOV,U.S. Border Patrol,Southwest Land Border,Big Bend Sector,Big Bend,Single Adults,"
     "MEXICO,Title 42,Expulsions,143", "Big Bend Sector"),
    ("2023,FYTD,DEC,U.S. Border Patrol,Northern Land Border,Swanton Sector,Swanton,Single Adults,"
     "INDIA,Title 8,Apprehensions,61", "Swanton Sector"),
    ("2023,FYTD,DEC,Office of Field Operations,Other,Miami Field Office,Miami,Single Adults,COLOMBIA,"
     "Title 8,Inadmissibles,902", "Miami Field Office"),
    # Another spelling of a known area, in the running year: still the seeded area.
    ("2024 (FYTD),FYTD,JAN,U.S. Border Patrol,Southwest Land Border,RIO GRANDE VALLEY SECTOR,"
     "Rio Grande Valley,UAC,HONDURAS,Title 8,Apprehensions,1800", "Rio Grande Valley Sector"),
]


def write_aor_file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "nationwide-encounters-fy23-aor.csv"
    path.write_text("\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8")
    return path


def count_of(line: str) -> int:
    return int(line.rsplit(",", 1)[1])


def test_area_of_responsibility_file_is_detected_from_its_header(tmp_path):
    parsed = read_file(write_aor_file(tmp_path, [line for line, _ in ROWS]))
    assert parsed.format.key == "cbp-aor-encounters"
    assert parsed.format.dataset == "encounters"
    assert parsed.row_count == len(ROWS)


def test_area_of_responsibility_rows_attach_to_the_seeded_areas(empty_engine, tmp_path):
    path = write_aor_file(tmp_path, [line for line, _ in ROWS])
    with empty_engine.begin() as conn:
        ensure_reference(conn)
    with empty_engine.connect() as conn:
        seeded = dict(conn.execute(select(Area.name, Area.id)).all())
    [result] = ingest_paths(empty_engine, [str(path)])
    assert (result.source, result.rows, result.already_loaded) == ("cbp-aor-encounters", 15, False)

    expected: dict[str, int] = defaultdict(int)
    for line, area in ROWS:
        expected[area] += count_of(line)
    with empty_engine.connect() as conn:
        areas_after = dict(conn.execute(select(Area.name, Area.id)).all())
        got = dict(conn.execute(
            select(Area.name, func.sum(Encounter.encounter_count))
            .join(Area, Area.id == Encounter.area_id)
            .where(Encounter.is_current.is_(True), Encounter.source == "cbp-aor-encounters")
            .group_by(Area.name)
        ).all())
        rgv = conn.execute(select(func.count()).select_from(Area)
                           .where(func.lower(Area.name).like("%rio grande valley%"))).scalar_one()
    assert areas_after == seeded, "no area is added or renumbered for areas the reference knows"
    assert rgv == 1
    assert got == dict(expected)
    assert got["Rio Grande Valley Sector"] == 15234 + 4120 + 1800
    # Same abbreviation ("El Paso", "Tucson"), different areas: the field office and the sector.
    assert got["El Paso Field Office"] == 1201 and got["El Paso Sector"] == 812
    assert got["Tucson Field Office"] == 1440 and got["Tucson Sector"] == 7320


def test_area_of_responsibility_counts_and_dimensions_are_exact(empty_engine, tmp_path):
    ingest_paths(empty_engine, [str(write_aor_file(tmp_path, [line for line, _ in ROWS]))])
    with empty_engine.connect() as conn:
        rows = conn.execute(
            select(Encounter.period, Encounter.fiscal_year, Encounter.component, Encounter.region,
                   Area.kind, Encounter.state, Encounter.demographic, Encounter.citizenship,
                   Encounter.title_of_authority, Encounter.encounter_type,
                   Encounter.encounter_count)
            .join(Area, Area.id == Encounter.area_id)
        ).all()
        release = conn.execute(select(Release.row_count, Release.period_start, Release.period_end,
                                      Release.dataset)
                               .where(Release.source == "cbp-aor-encounters")).one()
    assert len(rows) == len(ROWS)
    assert sum(r.encounter_count for r in rows) == sum(count_of(line) for line, _ in ROWS)
    assert tuple(release) == (15, dt.date(2022, 10, 1), dt.date(2024, 1, 1), "encounters")

    southwest = sum(r.encounter_count for r in rows if r.region == "Southwest Border")
    assert southwest == sum(count_of(line) for line, _ in ROWS if "Southwest Land Border" in line)
    by_component = defaultdict(int)
    for r in rows:
        by_component[(r.component, r.kind)] += r.encounter_count
    assert by_component == {
        ("OFO", "field_office"): 3 + 1201 + 330 + 95 + 1440 + 902,
        ("USBP", "sector"): 15234 + 4120 + 9876 + 812 + 7320 + 2005 + 143 + 61 + 1800,
    }
    periods = {(r.period, r.fiscal_year) for r in rows}
    assert periods == {(dt.date(2022, 10, 1), 2023), (dt.date(2022, 11, 1), 2023),
                       (dt.date(2022, 12, 1), 2023), (dt.date(2024, 1, 1), 2024)}
    assert {r.state for r in rows} == {None}  # this layout has no state column
    china = [r for r in rows if r.citizenship == "CHINA, PEOPLES REPUBLIC OF"]
    assert [(c.title_of_authority, c.encounter_type, c.encounter_count) for c in china] == \
        [("Title 8", "Inadmissibles", 330)]
    assert {r.region for r in rows} == {"Southwest Border", "Northern Border", "Coastal/Interior"}


def test_unknown_area_is_added_once_and_reused(empty_engine, tmp_path):
    lines = [
        "2023,FYTD,OCT,Office of Field Operations,Other,Guam Field Office,Guam,Single Adults,"
        "PHILIPPINES,Title 8,Inadmissibles,4",
        "2023,FYTD,NOV,Office of Field Operations,Other,GUAM FIELD OFFICE,Guam,Single Adults,"
        "PHILIPPINES,Title 8,Inadmissibles,6",
        ROWS[1][0],
    ]
    ingest_paths(empty_engine, [str(write_aor_file(tmp_path, lines))],
                 options=IngestOptions(allow_new_areas=True))
    with empty_engine.connect() as conn:
        added = conn.execute(
            select(Area.id, Area.name, Area.kind, Area.component, Area.region)
            .where(Area.note.like("Added by ingest%"))
        ).all()
        counts = dict(conn.execute(
            select(Encounter.area_id, func.sum(Encounter.encounter_count))
            .group_by(Encounter.area_id)
        ).all())
    assert [tuple(a)[1:] for a in added] == [
        ("Guam Field Office", "field_office", "OFO", "Coastal/Interior")]
    assert counts[added[0].id] == 10


@pytest.mark.parametrize("extra", ["", ",AOR (Abbv)"], ids=["no-abbv-column", "abbv-twice"])
def test_aor_header_variants_are_not_mistaken_for_it(tmp_path, extra):
    """Without its AOR (Abbv) column (or with it twice) the header is no known format."""
    header = HEADER.replace(",AOR (Abbv)", "") if not extra else HEADER + extra
    path = tmp_path / "aor.csv"
    path.write_text(header + "\r\n" + ROWS[0][0] + "\r\n", encoding="utf-8")
    with pytest.raises(IngestError, match="matches no known official format") as info:
        read_file(path)
    assert info.value.line == 1
