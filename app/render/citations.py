"""The citation of an answer: the agencies, datasets and release files behind it, and the API
request pinned to its vintage, in APA, BibTeX and CSL-JSON."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CitedRelease:
    """A release as an answer's meta names it (see app/render/meta.release_summary)."""

    id: int
    publisher: str
    title: str
    file_name: str
    period_start: str
    period_end: str
    loaded_at: dt.datetime
    origin_url: str | None
    sha256: str

    @classmethod
    def from_meta(cls, item: dict[str, Any]) -> CitedRelease:
        return cls(id=item["id"], publisher=item["publisher"], title=item["title"],
                   file_name=item["file_name"], period_start=str(item["period_start"]),
                   period_end=str(item["period_end"]),
                   loaded_at=dt.datetime.fromisoformat(item["loaded_at"]),
                   origin_url=item.get("origin_url"), sha256=item["sha256"])

    def describe(self) -> str:
        return (f"release file {self.file_name}, data {self.period_start} to {self.period_end}, "
                f"loaded {self.loaded_at:%Y-%m-%d}")


def citation(releases: list[CitedRelease], *, url: str, as_of: str, accessed: dt.date,
             ) -> dict[str, Any]:
    """Every form of the citation of one answer."""
    publishers = list(dict.fromkeys(r.publisher for r in releases))
    titles = list(dict.fromkeys(r.title for r in releases))
    issued = max(r.loaded_at for r in releases).date()
    files = "; ".join(r.describe() for r in releases)
    return {
        "url": url,
        "as_of": as_of,
        "accessed": accessed.isoformat(),
        "releases": [{"id": r.id, "publisher": r.publisher, "title": r.title,
                      "file_name": r.file_name, "period_start": r.period_start,
                      "period_end": r.period_end, "loaded_at": r.loaded_at.isoformat(),
                      "sha256": r.sha256, "origin_url": r.origin_url} for r in releases],
        "apa": apa(publishers, titles, issued, files, url, accessed),
        "bibtex": bibtex(publishers, titles, issued, files, url, as_of, accessed, releases),
        "csl_json": csl_json(publishers, titles, issued, files, url, as_of, accessed, releases),
    }


def apa(publishers: list[str], titles: list[str], issued: dt.date, files: str, url: str,
        accessed: dt.date) -> str:
    authors = _and(publishers)
    return (f"{authors}. ({issued.year}). {'; '.join(titles)} [Data set; {files}]. Retrieved "
            f"{accessed:%B} {accessed.day}, {accessed.year}, from {url}")


def bibtex(publishers: list[str], titles: list[str], issued: dt.date, files: str, url: str,
           as_of: str, accessed: dt.date, releases: list[CitedRelease]) -> str:
    key = _key(releases, as_of)
    fields = [
        ("author", " and ".join("{" + _tex(p) + "}" for p in publishers)),
        ("title", "{" + _tex("; ".join(titles)) + "}"),
        ("year", str(issued.year)),
        ("publisher", _tex(_and(publishers))),
        ("howpublished", "\\url{" + url + "}"),
        ("note", _tex(f"Data set; {files}; API vintage as_of={as_of}")),
        ("urldate", accessed.isoformat()),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}"


def csl_json(publishers: list[str], titles: list[str], issued: dt.date, files: str, url: str,
             as_of: str, accessed: dt.date, releases: list[CitedRelease]) -> list[dict[str, Any]]:
    return [{
        "id": _key(releases, as_of),
        "type": "dataset",
        "title": "; ".join(titles),
        "author": [{"literal": p} for p in publishers],
        "publisher": _and(publishers),
        "issued": {"date-parts": [[issued.year, issued.month, issued.day]]},
        "accessed": {"date-parts": [[accessed.year, accessed.month, accessed.day]]},
        "URL": url,
        "version": f"as_of={as_of}",
        "note": files,
    }]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", & " + names[-1]


def _key(releases: list[CitedRelease], as_of: str) -> str:
    stem = re.sub(r"[^a-z0-9]+", "_", releases[0].file_name.rsplit(".", 1)[0].lower()).strip("_")
    return f"borderstats_{stem}_asof_{re.sub(r'[^0-9]+', '', as_of)}"


def _tex(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", text)
