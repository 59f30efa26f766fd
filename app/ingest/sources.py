"""The sources manifest (seed/sources.json) and finding a family's newest download on its page.

A manifest entry names a release family (a format key), the agency page that links its files, a
regex over those links with named groups for the period the file covers (`end_fy`, optional
`end_month`) and the upload folder (`folder`), and how often the agency publishes. The newest link
is the one with the greatest (end period, folder date); the name alone decides, never page order.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from app.ingest.formats import FORMATS
from app.periods import month_text

MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


class ManifestError(ValueError):
    """The manifest cannot be used: it names the file and the entry at fault."""


@dataclass(frozen=True)
class Source:
    """One release family as the manifest describes it."""

    family: str
    dataset: str
    enabled: bool
    page_url: str
    cadence: str
    cadence_days: int
    link_pattern: re.Pattern[str] | None = None
    base_url: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Link:
    """A download link on a page that the family's pattern matched."""

    url: str
    file_name: str
    period_end: dt.date
    folder: dt.date | None

    def rank(self) -> tuple[dt.date, dt.date]:
        return (self.period_end, self.folder or dt.date.min)

    def describe(self) -> str:
        folder = f", folder {month_text(self.folder)}" if self.folder else ""
        return f"{self.file_name} (through {month_text(self.period_end)}{folder})"


def default_manifest_path() -> Path:
    from app.paths import project_dir

    return project_dir("seed") / "sources.json"


def load_manifest(path: Path) -> list[Source]:
    """Read and check a manifest; raise ManifestError saying what is wrong where."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"cannot read the sources manifest {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: line {exc.lineno}, column {exc.colno}: not JSON: {exc.msg}") from None
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{path}: expected an object with a non-empty list 'sources'")
    sources = [_source(path, index, entry) for index, entry in enumerate(entries)]
    seen: set[str] = set()
    for source in sources:
        if source.family in seen:
            raise ManifestError(f"{path}: family {source.family!r} is listed twice")
        seen.add(source.family)
    return sources


def _source(path: Path, index: int, entry: object) -> Source:
    where = f"{path}: sources[{index}]"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: expected an object")
    formats = {f.key: f for f in FORMATS}

    def text(name: str, *, required: bool = True) -> str | None:
        value = entry.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ManifestError(f"{where}: {name!r} must be a non-empty string")
        return value.strip()

    family = text("family")
    where = f"{path}: source {family!r}"
    if family not in formats:
        raise ManifestError(f"{where}: unknown family; known: {', '.join(sorted(formats))}")
    dataset = formats[family].dataset
    if entry.get("dataset", dataset) != dataset:
        raise ManifestError(f"{where}: dataset must be {dataset!r} (the family's dataset)")
    enabled = entry.get("enabled", True)
    days = entry.get("cadence_days")
    if not isinstance(enabled, bool):
        raise ManifestError(f"{where}: 'enabled' must be true or false")
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ManifestError(f"{where}: 'cadence_days' must be a positive whole number of days")
    source = Source(family=family, dataset=dataset, enabled=enabled, page_url=text("page_url"),
                    cadence=text("cadence"), cadence_days=days,
                    reason=text("reason", required=False) or "")
    if not enabled:
        if not source.reason:
            raise ManifestError(f"{where}: a disabled source needs a 'reason'")
        return source
    for name in ("page_url", "base_url"):
        url = text(name, required=name == "page_url")
        if url is not None and urlsplit(url).scheme not in {"http", "https"}:
            raise ManifestError(f"{where}: {name!r} must be an http(s) URL, not {url!r}")
    try:
        pattern = re.compile(text("link_pattern"))
    except re.error as exc:
        raise ManifestError(f"{where}: link_pattern is not a valid regex: {exc}") from None
    if "end_fy" not in pattern.groupindex:
        raise ManifestError(f"{where}: link_pattern needs a named group (?P<end_fy>...)")
    return Source(family=family, dataset=dataset, enabled=True, page_url=source.page_url,
                  cadence=source.cadence, cadence_days=days, link_pattern=pattern,
                  base_url=text("base_url", required=False))


# --- links on a page -------------------------------------------------------------------------------

class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href and href.strip():
                self.hrefs.append(href.strip())


def page_hrefs(html: str) -> list[str]:
    """Return every <a href> of a page, in page order."""
    parser = _Hrefs()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def matching_links(source: Source, html: str, page_url: str) -> list[Link]:
    """Return the page's links that the family's pattern matches, with the period each names."""
    assert source.link_pattern is not None
    base = source.base_url or page_url
    links: dict[str, Link] = {}
    for href in page_hrefs(html):
        match = source.link_pattern.search(href)
        if match is None:
            continue
        period_end = _period_end(match)
        if period_end is None:
            continue
        try:
            url = urljoin(base, href)
        except ValueError:  # not a URL at all (e.g. a broken IPv6 host); no file to fetch there
            continue
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        links[url] = Link(url=url, file_name=name, period_end=period_end,
                          folder=_folder(match.groupdict().get("folder")))
    return list(links.values())


def newest_link(source: Source, html: str, page_url: str) -> Link | None:
    """Return the link covering the latest period (ties: the latest upload folder), or None."""
    links = matching_links(source, html, page_url)
    return max(links, key=Link.rank) if links else None


def _period_end(match: re.Match[str]) -> dt.date | None:
    """Return the last month a link names: `fy26`+`dec` is 2025-12; `fy22` alone is 2022-09."""
    groups = match.groupdict()
    fiscal_year = int(groups["end_fy"])
    if fiscal_year < 100:
        fiscal_year += 2000
    month_text = (groups.get("end_month") or "").strip().lower()
    if not month_text:
        month = 9
    elif month_text.isdigit():
        month = int(month_text)
    else:
        month = MONTHS.get(month_text[:3], 0)
    if not 1 <= month <= 12:
        return None
    return dt.date(fiscal_year - 1 if month >= 10 else fiscal_year, month, 1)


def _folder(text: str | None) -> dt.date | None:
    if not text:
        return None
    for layout in ("%Y-%m", "%Y-%b"):
        try:
            return dt.datetime.strptime(text, layout).date()
        except ValueError:
            continue
    return None


def select_sources(sources: list[Source], *, dataset: str | None = None,
                   families: list[str] | None = None) -> list[Source]:
    """Return the sources asked for; raise ManifestError naming an unknown dataset or family."""
    if dataset is not None:
        known = sorted({s.dataset for s in sources})
        if dataset not in known:
            raise ManifestError(f"unknown dataset {dataset!r}; the manifest has {', '.join(known)}")
        sources = [s for s in sources if s.dataset == dataset]
    if families:
        known = [s.family for s in sources]
        unknown = [f for f in families if f not in known]
        if unknown:
            raise ManifestError(f"unknown family {unknown[0]!r}"
                                f"{' for dataset ' + repr(dataset) if dataset else ''}; "
                                f"choose from {', '.join(known)}")
        sources = [s for s in sources if s.family in families]
    return sources
