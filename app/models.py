"""Tables: releases (data versions), reference data, and the three families of facts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Release(Base):
    """One ingested file (or shipped reference set): a version of a dataset."""

    __tablename__ = "release"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(200))
    publisher: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    row_count: Mapped[int] = mapped_column(Integer)
    grain: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    dimensions: Mapped[list] = mapped_column(JSON)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    origin_url: Mapped[str | None] = mapped_column(String(500))
    citation: Mapped[str | None] = mapped_column(Text)
    periods_new: Mapped[int] = mapped_column(Integer, default=0)
    periods_revised: Mapped[int] = mapped_column(Integer, default=0)
    periods_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    periods_superseded: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("grain IN ('month', 'year')", name="grain"),)


def database_is_empty(engine: Engine) -> bool:
    """Whether no release is loaded (an empty database is seeded from the snapshot)."""
    with engine.connect() as conn:
        return not holds_releases(conn)


def holds_releases(conn: Connection) -> bool:
    """Whether any release is loaded, read on `conn` (inside its transaction, if one is open)."""
    return conn.execute(select(func.count()).select_from(Release)).scalar_one() > 0


class ReleasePeriod(Base):
    """Which months (or years) a release covers, and whether it is the current figure for each."""

    __tablename__ = "release_period"

    release_id: Mapped[int] = mapped_column(
        ForeignKey("release.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    revision_key: Mapped[str] = mapped_column(String(48))
    row_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    is_current: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index(None, "revision_key", "period"),
        CheckConstraint(
            "status IN ('new', 'revised', 'unchanged', 'superseded')", name="status"
        ),
    )


class DataVersion(Base):
    """A single row whose counter moves at every ingest: the key for ETags and caches."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class State(Base):
    """US states, DC and territories (postal codes)."""

    __tablename__ = "state"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))


class Area(Base):
    """A CBP area of responsibility: an OFO field office or a Border Patrol sector."""

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    component: Mapped[str] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(32))
    abbreviation: Mapped[str | None] = mapped_column(String(32))
    # The states as one label ("NM,TX"), the key when seizures are grouped by state.
    states: Mapped[str] = mapped_column(String(32), default="")
    # 'coverage': every state the area covers; 'headquarters': only where the office sits.
    state_basis: Mapped[str] = mapped_column(String(16))
    aliases: Mapped[list] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("kind IN ('field_office', 'sector')", name="kind"),
        CheckConstraint("state_basis IN ('coverage', 'headquarters', 'none')", name="state_basis"),
        CheckConstraint("component IN ('OFO', 'USBP')", name="component"),
    )


class AreaState(Base):
    """The state(s) an area of responsibility covers."""

    __tablename__ = "area_state"

    area_id: Mapped[int] = mapped_column(
        ForeignKey("area.id", ondelete="CASCADE"), primary_key=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), primary_key=True)


class Drug(Base):
    """A drug type as CBP names it, with the aliases users type."""

    __tablename__ = "drug"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(64))
    aliases: Mapped[list] = mapped_column(JSON)


class Seizure(Base):
    """CBP drug seizures: one release's figure for a month, area, drug and component."""

    __tablename__ = "seizure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"))
    period: Mapped[dt.date] = mapped_column(Date)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    drug_id: Mapped[int] = mapped_column(ForeignKey("drug.id"))
    component: Mapped[str] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(32))
    land_filter: Mapped[str] = mapped_column(String(16))
    event_count: Mapped[int] = mapped_column(Integer)
    quantity_lbs: Mapped[float] = mapped_column(Float(precision=53))
    is_current: Mapped[bool] = mapped_column(Boolean)
    # quantity_lbs as exact integers, for sums (app/datasets/base.py exact_sum): whole
    # micro-pounds, and the rest in 1e-18 lb. (Columns in the order the migrations leave them:
    # a new database is created from the models, app.ops.migrate.)
    quantity_ulbs: Mapped[int] = mapped_column(BigInteger)
    quantity_lbs_rest: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index(None, "is_current", "drug_id", "period"),
        Index(None, "is_current", "area_id", "period"),
        Index(None, "release_id", "period"),
    )


class EncounterColumns:
    """The columns encounter facts and their rollups share; a column is NULL where the release
    (or the rollup) does not carry that dimension."""

    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(48))
    period: Mapped[dt.date] = mapped_column(Date)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    component: Mapped[str | None] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(32))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    state: Mapped[str | None] = mapped_column(String(2))
    demographic: Mapped[str | None] = mapped_column(String(48))
    citizenship: Mapped[str | None] = mapped_column(String(64))
    title_of_authority: Mapped[str | None] = mapped_column(String(16))
    encounter_type: Mapped[str | None] = mapped_column(String(16))
    encounter_count: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean)


class Encounter(EncounterColumns, Base):
    """CBP / OHSS encounters, one release's figure for a month and its dimensions."""

    __tablename__ = "encounter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)

    __table_args__ = (
        Index(None, "source", "is_current", "period"),
        Index(None, "release_id", "period"),
        Index(None, "area_id"),
        Index(None, "state"),
    )


class OverdoseDeath(Base):
    """CDC/NCHS overdose deaths for a year; state NULL is the national figure."""

    __tablename__ = "overdose_death"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str | None] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(80))
    sex: Mapped[str] = mapped_column(String(8))
    deaths: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float | None] = mapped_column(Float(precision=53))
    is_current: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index(None, "is_current", "category", "year"),
        Index(None, "release_id"),
        CheckConstraint("sex IN ('all', 'female', 'male')", name="sex"),
    )


class SeizureEvent(Base):
    """A single reported seizure at a port (from press releases the article cites)."""

    __tablename__ = "seizure_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    place: Mapped[str] = mapped_column(String(120))
    port_of_entry: Mapped[str] = mapped_column(String(120))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    state: Mapped[str] = mapped_column(ForeignKey("state.code"))
    event_date: Mapped[dt.date] = mapped_column(Date)
    date_precision: Mapped[str] = mapped_column(String(8))
    drug_id: Mapped[int] = mapped_column(ForeignKey("drug.id"))
    quantity_lbs: Mapped[float] = mapped_column(Float(precision=53))
    quantity_qualifier: Mapped[str | None] = mapped_column(String(16))
    reported_value_usd: Mapped[int | None] = mapped_column(Integer)
    value_qualifier: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index(None, "event_date"),
        CheckConstraint("date_precision IN ('day', 'month')", name="date_precision"),
    )


class SeizureRollup(Base):
    """Current seizures pre-aggregated over some dimensions (see app/rollups.py): same columns
    as `seizure`, the dropped dimensions NULL, `rollup` naming what is kept."""

    __tablename__ = "seizure_rollup"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rollup: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"))
    period: Mapped[dt.date] = mapped_column(Date)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    drug_id: Mapped[int | None] = mapped_column(ForeignKey("drug.id"))
    component: Mapped[str | None] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(32))
    land_filter: Mapped[str | None] = mapped_column(String(16))
    event_count: Mapped[int] = mapped_column(Integer)
    quantity_lbs: Mapped[float] = mapped_column(Float(precision=53))
    is_current: Mapped[bool] = mapped_column(Boolean)
    # quantity_lbs as exact integers, for sums (app/datasets/base.py exact_sum): whole
    # micro-pounds, and the rest in 1e-18 lb. (Columns in the order the migrations leave them:
    # a new database is created from the models, app.ops.migrate.)
    quantity_ulbs: Mapped[int] = mapped_column(BigInteger)
    quantity_lbs_rest: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "rollup", "period"), Index(None, "rollup", "drug_id", "period"))


class EncounterRollup(EncounterColumns, Base):
    """Current encounters pre-aggregated over some dimensions (see app/rollups.py)."""

    __tablename__ = "encounter_rollup"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rollup: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index(None, "source", "rollup", "period"),)


class SyncState(Base):
    """What `borderstats sync` last saw and did for one release family (read by /status)."""

    __tablename__ = "sync_state"

    family: Mapped[str] = mapped_column(String(48), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(32))
    page_url: Mapped[str] = mapped_column(String(500))
    cadence: Mapped[str] = mapped_column(String(32))
    cadence_days: Mapped[int] = mapped_column(Integer)
    # Validators of the page and of the file as of the last success (sent back as a conditional GET).
    page_etag: Mapped[str | None] = mapped_column(String(200))
    page_last_modified: Mapped[str | None] = mapped_column(String(64))
    file_url: Mapped[str | None] = mapped_column(String(500))
    file_etag: Mapped[str | None] = mapped_column(String(200))
    file_last_modified: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    last_release_id: Mapped[int | None] = mapped_column(
        ForeignKey("release.id", ondelete="SET NULL"))
    # 'new', 'unchanged', 'already_loaded' or 'error': what the last attempt ended with.
    last_outcome: Mapped[str] = mapped_column(String(16))
    last_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("last_outcome IN ('new', 'unchanged', 'already_loaded', 'error')",
                        name="last_outcome"),
    )
