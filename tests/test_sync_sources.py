"""The sources manifest and link discovery: no database, no network beyond 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sync_server import SHIPPED_MANIFEST

from app.ingest.formats import FORMATS
from app.ingest.sources import (
    ManifestError,
    default_manifest_path,
    load_manifest,
    matching_links,
    newest_link,
    select_sources,
)

PAGE = "https://www.cbp.gov/document/stats/nationwide-drug-seizures"


def shipped() -> dict:
    return json.loads(SHIPPED_MANIFEST.read_text(encoding="utf-8"))


def source(family: str):
    return next(s for s in load_manifest(SHIPPED_MANIFEST) if s.family == family)


def html(*hrefs: str) -> str:
    links = "".join(f'<p><a class="x" href="{h}">file</a></p>' for h in hrefs)
    return f"<html><body>{links}</body></html>"


def test_shipped_manifest_is_the_default_and_lists_every_format_once():
    assert default_manifest_path().resolve() == SHIPPED_MANIFEST.resolve()
    sources = load_manifest(SHIPPED_MANIFEST)
    assert sorted(s.family for s in sources) == sorted(f.key for f in FORMATS)
    disabled = {s.family for s in sources if not s.enabled}
    assert disabled == {"cdc-us-deaths", "cdc-us-deaths-by-drug", "cdc-state-deaths"}
    assert all(s.reason for s in sources if not s.enabled)


@pytest.mark.parametrize("entry", [e for e in shipped()["sources"] if e["enabled"]],
                         ids=lambda e: e["family"])
def test_each_enabled_family_matches_the_example_links_it_documents(entry):
    src = source(entry["family"])
    links = matching_links(src, html(*entry["example_links"]), entry["page_url"])
    assert len(links) == len(entry["example_links"])


@pytest.mark.parametrize(("href", "through", "folder"), [
    ("/sites/default/files/2026-01/nationwide-drugs-fy23-fy26-dec.csv", dt.date(2025, 12, 1),
     dt.date(2026, 1, 1)),
    ("/sites/default/files/assets/documents/2022-Oct/nationwide-drugs-fy19-fy22.csv",
     dt.date(2022, 9, 1), dt.date(2022, 10, 1)),
    ("https://www.cbp.gov/sites/default/files/2025-09/nationwide-drugs-fy22-fy25-aug.csv",
     dt.date(2025, 8, 1), dt.date(2025, 9, 1)),
])
def test_period_and_folder_are_read_from_the_link(href, through, folder):
    [link] = matching_links(source("cbp-seizures"), html(href), PAGE)
    assert (link.period_end, link.folder) == (through, folder)
    assert link.url == "https://www.cbp.gov" + href.removeprefix("https://www.cbp.gov")
    assert link.file_name == href.rsplit("/", 1)[1]


def test_newest_link_is_the_latest_period_whatever_the_page_order():
    page = html("/sites/default/files/2026-01/nationwide-drugs-fy23-fy26-dec.csv",
                "/sites/default/files/2026-03/nationwide-drugs-fy23-fy26-feb.csv",
                "/sites/default/files/2023-11/nationwide-drugs-fy20-fy23.csv",
                "/sites/default/files/2026-01/other-report-fy23-fy26-mar.csv")
    link = newest_link(source("cbp-seizures"), page, PAGE)
    assert link.file_name == "nationwide-drugs-fy23-fy26-feb.csv"
    assert link.period_end == dt.date(2026, 2, 1)


def test_same_period_is_decided_by_the_later_folder():
    page = html("/sites/default/files/2026-04/nationwide-drugs-fy23-fy26-feb.csv",
                "/sites/default/files/2026-03/nationwide-drugs-fy23-fy26-feb.csv")
    assert newest_link(source("cbp-seizures"), page, PAGE).folder == dt.date(2026, 4, 1)


def test_the_by_state_and_by_area_downloads_of_one_page_are_told_apart():
    page = html("/sites/default/files/2025-11/nationwide-encounters-fy22-fy25-state.csv",
                "/sites/default/files/2025-11/nationwide-encounters-fy22-fy25-aor.csv",
                "/sites/default/files/2025-11/nationwide-encounters-fy22-fy25.csv")
    url = "https://www.cbp.gov/document/stats/nationwide-encounters"
    assert newest_link(source("cbp-state-encounters"), page, url).file_name.endswith("-state.csv")
    assert newest_link(source("cbp-aor-encounters"), page, url).file_name.endswith("-aor.csv")


def test_ohss_workbook_month_is_the_calendar_month_of_its_fiscal_year():
    page = html("/sites/default/files/2025-01/KHSM%20Encounters%20%28USBP%29%20fy25m11.xlsx",
                "/sites/default/files/2024-08/KHSM%20Encounters%20%28USBP%29%20fy24m07.xlsx")
    link = newest_link(source("ohss-sector-encounters"), page, "https://ohss.dhs.gov/khsm/cbp-encounters")
    assert link.file_name == "KHSM Encounters (USBP) fy25m11.xlsx"
    assert link.period_end == dt.date(2024, 11, 1)  # the fy25m11 workbook ends in November 2024


def test_a_malformed_link_is_skipped():
    page = html("http://[::1/sites/default/files/2026-02/nationwide-drugs-fy23-fy26-jan.csv",
                "/sites/default/files/2026-01/nationwide-drugs-fy23-fy26-dec.csv")
    assert newest_link(source("cbp-seizures"), page, PAGE).file_name == (
        "nationwide-drugs-fy23-fy26-dec.csv")


def test_a_page_without_a_matching_link_has_no_newest_link():
    page = html("/sites/default/files/2026-01/seizures-2026.csv", "/newsroom")
    assert newest_link(source("cbp-seizures"), page, PAGE) is None


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "sources.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def entry(**changes) -> dict:
    base = next(e for e in shipped()["sources"] if e["family"] == "cbp-seizures")
    return {**base, **changes}


@pytest.mark.parametrize(("document", "message"), [
    ("{not json", r"line 1, column 2: not JSON"),
    ({"sources": []}, r"non-empty list 'sources'"),
    ({"sources": [entry(family="cbp-drugs")]}, r"unknown family; known: cbp-aor-encounters"),
    ({"sources": [entry(link_pattern="(unclosed")]}, r"link_pattern is not a valid regex"),
    ({"sources": [entry(link_pattern=r"drugs-(?P<fy>\d+)\.csv")]}, r"needs a named group \(\?P<end_fy>"),
    ({"sources": [entry(page_url="ftp://example.org/x")]}, r"'page_url' must be an http\(s\) URL"),
    ({"sources": [entry(cadence_days=0)]}, r"'cadence_days' must be a positive"),
    ({"sources": [entry(dataset="encounters")]}, r"dataset must be 'seizures'"),
    ({"sources": [entry(enabled=False)]}, r"a disabled source needs a 'reason'"),
    ({"sources": [entry(), entry()]}, r"family 'cbp-seizures' is listed twice"),
])
def test_a_bad_manifest_is_refused_naming_the_problem(tmp_path, document, message):
    with pytest.raises(ManifestError, match=message):
        load_manifest(write(tmp_path, document))


def test_selection_by_dataset_and_family():
    sources = load_manifest(SHIPPED_MANIFEST)
    assert [s.family for s in select_sources(sources, dataset="seizures")] == ["cbp-seizures"]
    picked = select_sources(sources, families=["ohss-sector-encounters", "cbp-seizures"])
    assert [s.family for s in picked] == ["cbp-seizures", "ohss-sector-encounters"]
    with pytest.raises(ManifestError, match="unknown dataset 'drugs'; the manifest has encounters"):
        select_sources(sources, dataset="drugs")
    with pytest.raises(ManifestError, match="unknown family 'cbp-seizures' for dataset 'encounters'"):
        select_sources(sources, dataset="encounters", families=["cbp-seizures"])
