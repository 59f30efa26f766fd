"""Response models of GET /revisions, GET /cite and GET /status (issue 12)."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, Field, create_model

from app.api.schemas.common import ReleaseSummary, Strict, Versioned
from app.datasets import DATASETS, Dataset


def revision_row_model(dataset: Dataset) -> type[BaseModel]:
    """One changed cell of one measure: the cell's keys, both values, the difference."""
    fields: dict[str, Any] = {
        "dataset": (Literal[dataset.name], Field(description="The dataset.")),
        "source": (str, Field(description="The release family both releases belong to.")),
        "period": (str, Field(description="The month (YYYY-MM) or year (YYYY) of the cell.")),
    }
    for dim in dataset.stored_dimensions:
        for output in dim.shape.outputs:
            fields.setdefault(output.label, (str | None, Field(
                description=output.description or f"The cell's {dim.name}. {dim.description}")))
    integer = all(m.integer for m in dataset.measures if m.column)
    value = int | float if not integer else int
    fields.update({
        "measure": (Literal[tuple(m.name for m in dataset.measures if m.column)],
                    Field(description="The measure that changed.")),
        "older_release": (int, Field(description="The release that answered before.")),
        "older_value": (value | None, Field(description="Its value; null when it did not "
                                            "publish the cell (appeared).")),
        "newer_release": (int, Field(description="The release that answers since.")),
        "newer_value": (value | None, Field(description="Its value; null when it does not "
                                            "publish the cell (disappeared).")),
        "difference": (value | None, Field(description="newer_value - older_value; null when "
                                           "either is null.")),
        "change": (Literal["revised", "appeared", "disappeared"],
                   Field(description="What happened to the cell (see meta.change).")),
    })
    return create_model(f"{dataset.model_name}RevisionRow", __base__=Strict,
                        __doc__=f"A cell of {dataset.path} a newer release changed.", **fields)


class Handover(Strict):
    """A newer release took over some periods of a family from an older one."""

    source: str = Field(description="The release family.")
    older_release: int
    newer_release: int
    periods: list[str] = Field(description="The periods handed over.")


class RevisionsMeta(Versioned):
    dataset: str = Field(description="The dataset asked for.")
    filters: dict[str, Any] = Field(description="The filters as understood.")
    release: int | None = Field(description="Only the changes this release made (`release=`).")
    row_count: int = Field(description="Rows in `data`.", ge=0)
    total_rows: int = Field(description="Rows of the whole answer, every page.", ge=0)
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)
    next: str | None = Field(description="The request of the next page; null on the last.")
    compared: list[Handover] = Field(description="Every handover of periods compared.")
    change: dict[str, str] = Field(description="What each `change` value means.")
    releases: list[ReleaseSummary] = Field(description="The releases compared.")


REVISION_ROWS = {name: revision_row_model(d) for name, d in DATASETS.items()}
RevisionRow = Union[tuple(REVISION_ROWS.values())]  # noqa: UP007 (built at run time)


class RevisionsDocument(Strict):
    """The figures newer releases changed, with both values."""

    data: list[RevisionRow] = Field(description="One row per changed cell and measure.")  # type: ignore[valid-type]
    meta: RevisionsMeta


class CitedReleaseInfo(Strict):
    id: int = Field(description="Release id.")
    publisher: str = Field(description="The agency.")
    title: str = Field(description="The dataset's title.")
    file_name: str = Field(description="The release file.")
    period_start: str
    period_end: str
    loaded_at: str = Field(description="When it was loaded (ISO 8601).")
    sha256: str = Field(description="Checksum of the file as loaded.")
    origin_url: str | None = Field(description="Where the agency publishes it.")


class Citation(Strict):
    url: str = Field(description="The cited request, absolute, pinned to its vintage.")
    as_of: str = Field(description="The vintage: a release id or a day.")
    accessed: str = Field(description="The day of access, YYYY-MM-DD.")
    releases: list[CitedReleaseInfo] = Field(description="The releases behind the answer.")
    apa: str = Field(description="APA 7 reference.")
    bibtex: str = Field(description="BibTeX @misc entry.")
    csl_json: list[dict[str, Any]] = Field(description="CSL-JSON items (one per release).")


class CiteMeta(Strict):
    cited: str = Field(description="The request cited (path and query, with `as_of`).")


class CiteDocument(Strict):
    """The citation of one answer."""

    data: Citation
    meta: CiteMeta


class NewestRelease(Strict):
    id: int
    file_name: str
    loaded_at: str


class SyncInfo(Strict):
    enabled: bool | None = Field(description="Whether sync fetches the family (null: not in the "
                                 "manifest).")
    last_outcome: Literal["new", "unchanged", "already_loaded", "error"] | None
    last_attempt_at: str | None
    last_success_at: str | None
    last_failure_at: str | None
    last_error: str | None


class FamilyStatus(Strict):
    family: str = Field(description="The release family.")
    dataset: str | None = Field(description="Its dataset.")
    newest_release: NewestRelease | None = Field(description="The newest release loaded.")
    through: str | None = Field(description="The last month (year) it covers.")
    cadence: str | None = Field(description="How often the agency publishes.")
    cadence_days: int | None = Field(description="The cadence in days.")
    behind: int | None = Field(description="How far behind today, in `behind_unit`.")
    behind_unit: Literal["months", "years"] | None
    summary: str = Field(description="All of it in words.")
    sync: SyncInfo = Field(description="What `borderstats sync` last did.")


class StatusMeta(Strict):
    today: str = Field(description="Today (UTC), YYYY-MM-DD.")
    row_count: int = Field(ge=0)
    data_version: int


class StatusDocument(Strict):
    """How fresh each release family is."""

    data: list[FamilyStatus]
    meta: StatusMeta
