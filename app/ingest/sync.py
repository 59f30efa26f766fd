"""`borderstats sync`: fetch each family's agency page, download its newest file, ingest what is new.

For every enabled source of the manifest: GET the page (conditionally), pick the newest matching
link, GET the file (conditionally) into a temporary folder, and skip it when its checksum is
already a release. The new files then go through the one ingest in one transaction; a file the
ingest rejects is left out (its source fails) and the others are loaded. Last, in its own short
transaction, each source's state (validators, outcome, error) is written to `sync_state`. A source
that fails never stops the others.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, select

from app.config import Settings
from app.ingest.errors import IngestError
from app.ingest.fetch import FetchError, FetchPolicy, Validators, download, fetch_page, make_client
from app.ingest.load import LoadResult, ingest_paths
from app.ingest.sources import Link, Source, newest_link, page_hrefs
from app.ingest.sync_state import read_states, record_outcomes
from app.models import Release, SyncState
from app.periods import month_text


@dataclass
class SourceOutcome:
    """What sync did for one source; `line()` is its one-line summary."""

    source: Source
    status: str  # new | unchanged | already_loaded | error | disabled | planned
    detail: str
    link: Link | None = None
    page_validators: Validators | None = None
    file_validators: Validators | None = None
    sha256: str | None = None
    release_id: int | None = None
    path: Path | None = field(default=None, repr=False)
    load: LoadResult | None = None

    @property
    def failed(self) -> bool:
        return self.status == "error"

    def line(self) -> str:
        prefix = f"{self.link.file_name}: " if self.link and self.status != "error" else ""
        return f"{self.source.family}: {prefix}{self.detail}"


@dataclass
class SyncReport:
    """Every selected source's outcome, in manifest order."""

    outcomes: list[SourceOutcome]

    @property
    def failed(self) -> bool:
        return any(o.failed for o in self.outcomes)

    def lines(self) -> list[str]:
        return [o.line() for o in self.outcomes]


def sync(engine: Engine, sources: Iterable[Source], *, policy: FetchPolicy, dry_run: bool = False,
         manifest: Path | None = None) -> SyncReport:
    """Bring every enabled source up to date (or, with dry_run, only say what would be fetched)."""
    sources = list(sources)
    states = read_states(engine)
    loaded = {} if dry_run else _loaded_checksums(engine)
    outcomes: list[SourceOutcome] = []
    work = Path(tempfile.mkdtemp(prefix="borderstats-sync-"))
    try:
        with make_client(policy) as client:
            for source in sources:
                if not source.enabled:
                    outcomes.append(SourceOutcome(source, "disabled", f"disabled: {source.reason}"))
                    continue
                check = _Check(client, policy, source, states.get(source.family), work, manifest)
                outcomes.append(check.run(dry_run=dry_run, loaded=loaded))
        if not dry_run:
            _ingest(engine, [o for o in outcomes if o.path is not None])
            record_outcomes(engine, [o for o in outcomes if o.status not in {"disabled", "planned"}])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SyncReport(outcomes)


def default_policy(settings: Settings) -> FetchPolicy:
    """Build the fetch policy the BORDERSTATS_SYNC_* settings describe."""
    contact = f"; contact: {settings.sync_contact}" if settings.sync_contact else ""
    return FetchPolicy(
        user_agent=f"borderstats-sync/{_version()} (statistics API over official files{contact})",
        timeout_seconds=settings.sync_timeout_seconds, attempts=settings.sync_attempts,
        backoff_seconds=settings.sync_backoff_seconds,
        max_bytes=int(settings.sync_max_mb * 1024 * 1024),
    )


def _version() -> str:
    try:
        return importlib.metadata.version("borderstats")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def _loaded_checksums(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {sha256: release_id for sha256, release_id in conn.execute(select(Release.sha256, Release.id))}


@dataclass
class _Check:
    """The network half of one source: page, newest link, file; no database writes."""

    client: httpx.Client
    policy: FetchPolicy
    source: Source
    state: SyncState | None
    work: Path
    manifest: Path | None

    def run(self, *, dry_run: bool, loaded: dict[str, int]) -> SourceOutcome:
        try:
            return self._run(dry_run=dry_run, loaded=loaded)
        except FetchError as exc:
            return SourceOutcome(self.source, "error", f"error: {exc}")
        except OSError as exc:
            return SourceOutcome(self.source, "error", f"error: cannot write the download: {exc}")

    def _run(self, *, dry_run: bool, loaded: dict[str, int]) -> SourceOutcome:
        source, state = self.source, self.state
        succeeded_before = state is not None and state.last_success_at is not None
        page_validators = None
        if succeeded_before and state.page_url == source.page_url:
            page_validators = Validators(state.page_etag, state.page_last_modified)
        page = fetch_page(self.client, source.page_url, self.policy, page_validators)
        if page.not_modified:
            return SourceOutcome(source, "unchanged", "unchanged (page 304 Not Modified)",
                                 page_validators=page.validators)
        html = page.body.decode("utf-8", errors="replace")  # the links sync needs are ASCII
        link = newest_link(source, html, page.url)
        if link is None:
            return SourceOutcome(source, "error", self._no_link_message(html))
        file_validators = None
        if succeeded_before and state.file_url == link.url:
            file_validators = Validators(state.file_etag, state.file_last_modified)
        if dry_run:
            how = "conditional GET, same file as the last sync" if file_validators else "new link"
            return SourceOutcome(source, "planned", f"would download {link.url} ({how}; "
                                 f"through {month_text(link.period_end)})", link=link)
        folder = self.work / source.family
        folder.mkdir(parents=True, exist_ok=True)
        fetched = download(self.client, link.url, folder / _safe_name(link.file_name), self.policy,
                           file_validators)
        if fetched.not_modified:
            return SourceOutcome(source, "unchanged", "unchanged (304 Not Modified)", link=link,
                                 page_validators=page.validators, file_validators=fetched.validators)
        outcome = SourceOutcome(source, "planned", "", link=link, page_validators=page.validators,
                                file_validators=fetched.validators, sha256=fetched.sha256)
        if fetched.sha256 in loaded:
            outcome.status, outcome.release_id = "already_loaded", loaded[fetched.sha256]
            outcome.detail = (f"already loaded as release {outcome.release_id} "
                              f"(sha256 {fetched.sha256[:12]}…)")
        else:
            outcome.path = fetched.path
        return outcome

    def _no_link_message(self, html: str) -> str:
        source = self.source
        assert source.link_pattern is not None
        where = f" in {self.manifest}" if self.manifest else ""
        return (f"error: no link on {source.page_url} matches {source.link_pattern.pattern} "
                f"({len(page_hrefs(html))} links on the page); the page layout may have changed: "
                f"correct page_url or link_pattern of {source.family!r}{where}")


def _ingest(engine: Engine, pending: list[SourceOutcome]) -> None:
    """Load the downloaded files in one transaction, leaving out any file the ingest rejects."""
    while pending:
        try:
            results = ingest_paths(engine, [str(o.path) for o in pending])
        except IngestError as exc:
            culprits = [o for o in pending if _same_file(exc.file, o.path)] or pending
            for outcome in culprits:
                outcome.status, outcome.detail = "error", f"error: rejected by the ingest: {exc}"
                outcome.path = None
            pending = [o for o in pending if o not in culprits]
            continue
        for outcome, result in zip(pending, results, strict=True):
            _settle(outcome, result)
        return


def _settle(outcome: SourceOutcome, result: LoadResult) -> None:
    outcome.load, outcome.release_id, outcome.path = result, result.release_id, None
    family = outcome.source.family
    if result.source != family:
        outcome.status = "error"
        outcome.detail = (f"error: {outcome.link.url if outcome.link else 'the file'} is a "
                          f"{result.source} file, not {family}; it was loaded as release "
                          f"{result.release_id}: correct link_pattern of {family!r}")
    elif result.already_loaded:
        outcome.status = "already_loaded"
        outcome.detail = f"already loaded as release {result.release_id}"
    else:
        unit = "years" if result.grain == "year" else "months"
        outcome.status = "new"
        outcome.detail = (f"new release {result.release_id}, {result.period_label()} ({unit} "
                          f"{result.new} new, {result.revised} revised, {result.unchanged} "
                          f"unchanged, {result.superseded} superseded)")


def _same_file(reported: str, path: Path | None) -> bool:
    return path is not None and (reported == str(path) or Path(reported).name == path.name)


def _safe_name(name: str) -> str:
    """Return the download's file name (the release's name), with no path in it."""
    clean = name.replace("/", "_").replace("\\", "_").strip().lstrip(".")
    return clean or "download"
