"""GET /cite (the citation of an answer, pinned to its vintage) and GET /status (how fresh each
release family is, and what sync last did)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from app.api.deps import ContextDep
from app.api.params import OutputParams
from app.api.routes.comparisons import KINDS
from app.api.schemas.vintages import CiteDocument, StatusDocument
from app.datasets import DATASETS
from app.errors import InvalidParameter
from app.query.status import family_status, manifest_cadences, sync_states
from app.render.citations import CitedRelease, citation
from app.render.formats import Document, render

router = APIRouter(tags=["releases"])
NO_STORE = {"Cache-Control": "no-store"}
# Answers as recorded against a database of ../shared/data (they name today's date, so they are
# documentation here rather than recorded examples checked against live answers).
CITE_EXAMPLE = {
 "data": {
  "url": "http://testserver/seizures?drug=fentanyl&fiscal_year=2021&as_of=12",
  "as_of": "12",
  "accessed": "2026-11-29",
  "releases": [
   {
    "id": 2,
    "publisher": "U.S. Customs and Border Protection",
    "title": "CBP Nationwide Drug Seizures",
    "file_name": "cbp-drug-seizures-fy20-fy23.csv",
    "period_start": "2019-10",
    "period_end": "2023-09",
    "loaded_at": "2026-11-29T23:42:48.156666",
    "sha256": "8bb69766e2428a90717190ccfb04a8d8cf6c7c9d0fe63ae2076078ffcf09b027",
    "origin_url": "https://www.cbp.gov/newsroom/stats/drug-seizure-statistics"
   }
  ],
  "apa": (
      "U.S. Customs and Border Protection. (2026). CBP Nationwide Drug Seizures [Data"
      " set; release file cbp-drug-seizures-fy20-fy23.csv, data 2019-10 to 2023-09, l"
      "oaded 2026-11-29]. Retrieved November 29, 2026, from http://testserver/seizure"
      "s?drug=fentanyl&fiscal_year=2021&as_of=12"
  ),
  "bibtex": (
      "@misc{borderstats_cbp_drug_seizures_fy20_fy23_asof_12,\n  author = {{U.S. Cust"
      "oms and Border Protection}},\n  title = {{CBP Nationwide Drug Seizures}},\n  y"
      "ear = {2026},\n  publisher = {U.S. Customs and Border Protection},\n  howpubli"
      "shed = {\\url{http://testserver/seizures?drug=fentanyl&fiscal_year=2021&as_of="
      "12}},\n  note = {Data set; release file cbp-drug-seizures-fy20-fy23.csv, data "
      "2019-10 to 2023-09, loaded 2026-11-29; API vintage as\\_of=12},\n  urldate = {"
      "2026-11-29}\n}"
  ),
  "csl_json": [
   {
    "id": "borderstats_cbp_drug_seizures_fy20_fy23_asof_12",
    "type": "dataset",
    "title": "CBP Nationwide Drug Seizures",
    "author": [
     {
      "literal": "U.S. Customs and Border Protection"
     }
    ],
    "publisher": "U.S. Customs and Border Protection",
    "issued": {
     "date-parts": [
      [
       2026,
       11,
       29
      ]
     ]
    },
    "accessed": {
     "date-parts": [
      [
       2026,
       11,
       29
      ]
     ]
    },
    "URL": "http://testserver/seizures?drug=fentanyl&fiscal_year=2021&as_of=12",
    "version": "as_of=12",
    "note": "release file cbp-drug-seizures-fy20-fy23.csv, data 2019-10 to 2023-09, loaded 2026-11-29"
   }
  ]
 },
 "meta": {
  "cited": "/seizures?drug=fentanyl&fiscal_year=2021&as_of=12"
 }
}
STATUS_EXAMPLE = {
 "data": [
  {
   "family": "cbp-seizures",
   "dataset": "seizures",
   "newest_release": {
    "id": 3,
    "file_name": "cbp-drug-seizures-fy23-fy26-dec.csv",
    "loaded_at": "2026-11-29T23:42:48.345217"
   },
   "through": "2025-12",
   "cadence": "monthly",
   "cadence_days": 31,
   "behind": 11,
   "behind_unit": "months",
   "summary": "cbp-seizures: through 2025-12, monthly, 11 months behind",
   "sync": {
    "enabled": True,
    "last_outcome": None,
    "last_attempt_at": None,
    "last_success_at": None,
    "last_failure_at": None,
    "last_error": None
   }
  },
  {
   "family": "cbp-sw-encounters",
   "dataset": "encounters",
   "newest_release": {
    "id": 6,
    "file_name": "cbp-sw-encounters-fy22-fy25-aug.csv",
    "loaded_at": "2026-11-29T23:42:50.737988"
   },
   "through": "2025-08",
   "cadence": "monthly",
   "cadence_days": 31,
   "behind": 15,
   "behind_unit": "months",
   "summary": "cbp-sw-encounters: through 2025-08, monthly, 15 months behind",
   "sync": {
    "enabled": True,
    "last_outcome": None,
    "last_attempt_at": None,
    "last_success_at": None,
    "last_failure_at": None,
    "last_error": None
   }
  }
 ],
 "meta": {
  "today": "2026-11-29",
  "row_count": 2,
  "data_version": 1
 }
}


def _documented(example: dict, request: str) -> dict:
    return {200: {"description": f"Example: `GET {request}`.",
                  "content": {"application/json": {"example": example}}},
            422: {"description": "A parameter is wrong: the error names it."}}


def citable_paths() -> list[str]:
    """The endpoints whose answers can be cited: data and comparisons."""
    return [*(d.path for d in DATASETS.values()), *(path for path, _, _ in KINDS)]


class CiteParams(OutputParams):
    url: str = Field(description="A request of this API's data or comparison endpoints, absolute "
                     "or starting with `/` (URL-encoded), e.g. `/seizures?drug=fentanyl&"
                     "fiscal_year=2021`. Without `as_of` it is pinned to the newest release.",
                     examples=["/seizures?drug=fentanyl&fiscal_year=2021"])


@router.get("/cite", summary="Cite an answer: APA, BibTeX, CSL-JSON", response_model=CiteDocument,
            responses=_documented(CITE_EXAMPLE, "/cite?url=%2Fseizures%3Fdrug%3Dfentanyl"
                                  "%26fiscal_year%3D2021"))
async def cite(params: Annotated[CiteParams, Query()], ctx: ContextDep) -> Response:
    """The citation of the answer a data or comparison request gives: the agencies (publishers),
    the dataset titles, each release file behind the figures with the period it covers and when
    it was loaded, the request pinned to its vintage (`as_of`, the newest release when the URL has
    none) and the date accessed, as `apa` (text), `bibtex` and `csl_json` (CSL-JSON items). The
    request is answered as given to find its releases: a URL that is not one of this API's data
    or comparison endpoints, or whose request fails, is a 422 naming `url`."""
    request = ctx.request
    path, pairs = _citable(params.url, request)
    catalog = await ctx.catalog()
    if not any(name == "as_of" for name, _ in pairs):
        if catalog.newest_release is None:
            raise InvalidParameter("url", params.url, "no release is loaded: nothing to cite")
        pairs.append(("as_of", str(catalog.newest_release)))
    as_of = next(value for name, value in reversed(pairs) if name == "as_of")
    pinned = f"{path}?{urlencode(pairs)}"
    asked = [(k, v) for k, v in pairs if k not in ("format", "bom")]
    # Answered in process as the same client (its rate-limit bucket, not a shared local one).
    peer = (request.client.host, request.client.port) if request.client else ("127.0.0.1", 0)
    import httpx  # here, not at the top: importing it costs every process ~0.1 s (its CLI's click and rich)

    transport = httpx.ASGITransport(app=request.app, client=peer)
    async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as client:
        answer = await client.get(path, params=asked, headers={"accept": "application/json"})
    body = answer.json() if answer.headers.get("content-type", "").startswith(
        "application/json") else {}
    if answer.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise InvalidParameter("url", params.url, f"the request it names is refused "
                               f"({answer.status_code}): {error.get('message', answer.text[:200])}")
    releases = [CitedRelease.from_meta(item) for item in body["meta"].get("releases", [])]
    if not releases:
        raise InvalidParameter("url", params.url, "its answer has no figure from any release "
                               "(no data for the request), so there is nothing to cite")
    base = str(request.base_url).rstrip("/")
    document = citation(releases, url=base + pinned, as_of=as_of,
                        accessed=dt.datetime.now(dt.UTC).date())
    return render(Document(document, {"cited": pinned}), ctx.output, NO_STORE)


def _citable(url: str, request: Request) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url.strip())
    foreign = parts.scheme not in ("http", "https") or parts.netloc != request.url.netloc
    if (parts.scheme or parts.netloc) and foreign:
        raise InvalidParameter("url", url, f"not a URL of this API ({request.url.netloc}): "
                               "give one of its requests, absolute or starting with /",
                               citable_paths())
    path = parts.path
    if path not in citable_paths():
        raise InvalidParameter("url", url, f"{path or 'the URL'} is not a data or comparison "
                               "endpoint of this API", citable_paths())
    return path, parse_qsl(parts.query, keep_blank_values=True)


class StatusParams(OutputParams):
    pass


@router.get("/status", summary="How fresh each release family is",
            response_model=StatusDocument,
            responses=_documented(STATUS_EXAMPLE, "/status"))
async def status(params: Annotated[StatusParams, Query()], ctx: ContextDep) -> Response:
    """Per release family: the newest release loaded, the last month (year) it covers
    (`through`), how often the agency publishes (`cadence`, from the sync manifest or what sync
    last recorded), how far behind today that is (`behind`, in `behind_unit`; `summary` says it in
    words: "cbp-seizures: through 2025-12, monthly, 11 months behind") and what `borderstats
    sync` last did (`sync`: outcome, when it last succeeded and failed, the last error). About
    the data; `/readyz` is about the process."""
    catalog = await ctx.catalog()
    settings = ctx.request.app.state.settings
    async with ctx.engine.connect() as conn:
        states = await sync_states(conn)
    today = dt.datetime.now(dt.UTC).date()
    rows = family_status(catalog, manifest_cadences(settings.sync_manifest), states, today)
    meta = {"today": today.isoformat(), "row_count": len(rows),
            "data_version": catalog.version}
    return render(Document(rows, meta), ctx.output, NO_STORE)
