"""The dashboard at / in Chromium, offline and under `default-src 'self'`, on both backends.

Each chart's marks carry the figure they draw (data-key, data-series, data-value); the expected
figures are the API's JSON for the chart's query, fetched by the test itself, and for two charts
also sums computed from the official files with the csv module.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import api_helpers as h
import browser_support
import pytest
from browser_support import PHONE, screenshot

# The shared fixtures (a module-level name is how pytest finds a fixture outside conftest.py).
chromium = browser_support.chromium
live_server = browser_support.live_server
visit = browser_support.visit

READY = "html[data-ready]"
SW = "southwest"


def expected_requests(drug: str, fiscal_year: int) -> dict[str, tuple[str, dict[str, str]]]:
    """What each chart shows: its endpoint and query."""
    fy = str(fiscal_year)
    return {
        "seizure-years": ("/seizures", {"drug": drug, "region": SW, "group_by": "component,fiscal_year",
                                        "limit": "1000"}),
        "seizure-months": ("/seizures", {"drug": drug, "region": SW, "fiscal_year": fy,
                                         "group_by": "component,month", "limit": "1000"}),
        "seizure-areas": ("/seizures", {"drug": drug, "region": SW, "fiscal_year": fy,
                                        "group_by": "area,component", "sort": "-quantity_lbs",
                                        "limit": "1000"}),
        "comparison": ("/comparisons/seizures-vs-encounters", {"drug": drug, "fiscal_year": fy,
                                                               "groups": "CA,AZ;NM,TX"}),
        "encounters": ("/encounters", {"region": SW, "component": "usbp", "fiscal_year": fy,
                                       "group_by": "area,month", "limit": "1000"}),
        "deaths": ("/overdose-deaths", {"category": "total,synthetic-opioids",
                                        "group_by": "category,year", "limit": "1000"}),
    }


def marks_of(rows: list[dict[str, Any]], panel: str) -> dict[tuple[str, str], tuple[float, bool]]:
    """The marks a chart must draw for the API's rows: (key, series) -> (value, complete)."""
    if panel == "comparison":
        return {(r["group"], m): (r[m], True) for r in rows for m in ("seizure_share", "encounter_share")
                if r[m] is not None}
    key, series, value = {
        "seizure-years": ("fiscal_year", "component", "quantity_lbs"),
        "seizure-months": ("month", "component", "quantity_lbs"),
        "seizure-areas": ("area", "component", "quantity_lbs"),
        "encounters": ("month", "area", "encounter_count"),
        "deaths": ("year", "category", "deaths"),
    }[panel]
    return {(str(r[key]), r[series]): (r[value], r.get("period_complete") is not False) for r in rows}


def drawn_marks(page: Any, panel: str) -> dict[tuple[str, str], tuple[float, bool]]:
    """The marks drawn in a panel's SVG, read from the DOM."""
    items = page.eval_on_selector_all(
        f"#{panel} svg [data-value]",
        "els => els.map(e => [e.dataset.key, e.dataset.series, e.dataset.value, e.dataset.complete])")
    marks = {(key, series): (float(value), complete == "true") for key, series, value, complete in items}
    assert len(marks) == len(items), f"{panel}: two marks for one figure"
    return marks


def panel_request(page: Any, panel: str) -> tuple[str, dict[str, str]]:
    url = page.get_attribute(f"#{panel}", "data-request")
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query))


def check_charts(seen: Any, drug: str, fiscal_year: int) -> None:
    """Every chart shows the expected request, and its marks are the API's figures for it."""
    for panel, (path, params) in expected_requests(drug, fiscal_year).items():
        assert panel_request(seen.page, panel) == (path, params), panel
        url = seen.page.get_attribute(f"#{panel}", "data-request")
        rows = seen.json(url)["data"]
        assert drawn_marks(seen.page, panel) == marks_of(rows, panel), panel
        csv_link = seen.page.get_attribute(f"#{panel} a[data-role=csv]", "href")
        assert csv_link == f"{url}&format=csv", panel


def open_dashboard(visit: Any, query: str = "", **options: Any) -> Any:
    seen = visit(f"/{query}", wait_for=READY, **options)
    # (when it failed, what the page said and saw: its status line, requests that went wrong)
    assert seen.page.get_attribute("html", "data-ready") != "error", (
        seen.page.text_content("#status"), seen.problems)
    return seen


def test_the_dashboard_loads_offline_without_console_errors_or_failed_requests(visit, backend):
    seen = open_dashboard(visit)
    assert seen.problems == []
    assert seen.blocked == []
    for panel in expected_requests("fentanyl", 2021):
        assert seen.page.locator(f"#{panel} svg .mark, #{panel} svg [data-value]").count() > 0, panel
    path = screenshot(seen.page, f"dashboard-desktop-{backend}.png")
    assert path.stat().st_size > 10_000


def test_the_default_selection_is_the_drug_and_fiscal_year_of_the_articles_claims(visit):
    seen = open_dashboard(visit)
    claims = seen.json("/claims")["data"]
    drugs = {c["primary"]["filters"].get("drug") for c in claims} - {None}
    years = {c["primary"]["filters"].get("fiscal_year") for c in claims} - {None}
    assert (drugs, years) == ({"fentanyl"}, {"2021"})
    assert seen.page.get_attribute("html", "data-ready") == "fentanyl:2021"
    assert seen.page.input_value("#drug") == "fentanyl"
    assert seen.page.input_value("#fiscal-year") == "2021"


def test_each_chart_draws_the_apis_figures_for_its_request(visit):
    seen = open_dashboard(visit, "?drug=fentanyl&fiscal_year=2021")
    check_charts(seen, "fentanyl", 2021)
    assert seen.problems == []


def test_the_monthly_charts_match_the_official_files(visit):
    seen = open_dashboard(visit, "?drug=fentanyl&fiscal_year=2021")
    seizure_rows, _ = h.seizures()
    months = {f"{m:%Y-%m}" for m in h.fiscal_year_months(2021)}
    fentanyl = [r for r in seizure_rows if r["drug"] == "fentanyl" and r["region"] == "Southwest Border"
                and f"{r['month']:%Y-%m}" in months]
    month = lambda r: f"{r['month']:%Y-%m}"  # noqa: E731
    expected = h.aggregate(fentanyl, [month, h.field("component")], ["quantity_lbs"])
    drawn = drawn_marks(seen.page, "seizure-months")
    assert set(drawn) == set(expected)
    for key, sums in expected.items():
        assert drawn[key][0] == h.lbs(sums["quantity_lbs"]), key
    ohss_rows, _ = h.ohss_encounters()
    sectors = [r for r in ohss_rows if r["region"] == "Southwest Border" and month(r) in months]
    counts = h.aggregate(sectors, [month, h.field("area")], ["encounter_count"])
    expected_counts = {key: (sums["encounter_count"], True) for key, sums in counts.items()}
    assert drawn_marks(seen.page, "encounters") == expected_counts


def test_changing_the_drug_and_the_fiscal_year_redraws_the_charts_and_their_csv_links(visit):
    seen = open_dashboard(visit, "?drug=fentanyl&fiscal_year=2021")
    page = seen.page
    deaths_before = page.get_attribute("#deaths", "data-request")
    page.get_by_label("Drug", exact=True).select_option("methamphetamine")
    page.wait_for_selector("html[data-ready='methamphetamine:2021']")
    # The fiscal year by keyboard: years are listed newest first, so one step down is FY2020.
    page.get_by_label("Fiscal year", exact=True).focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_selector("html[data-ready='methamphetamine:2020']")
    assert urlsplit(page.url).query == "drug=methamphetamine&fiscal_year=2020"
    check_charts(seen, "methamphetamine", 2020)
    assert page.get_attribute("#deaths", "data-request") == deaths_before
    for panel in ("seizure-months", "seizure-areas", "comparison", "encounters"):
        link = page.get_attribute(f"#{panel} a[data-role=csv]", "href")
        assert "fiscal_year=2020" in link and "format=csv" in link, panel
    for panel in ("seizure-years", "seizure-months", "seizure-areas", "comparison"):
        assert "drug=methamphetamine" in page.get_attribute(f"#{panel} a[data-role=csv]", "href"), panel
    assert seen.problems == []


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def as_csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_each_csv_link_downloads_exactly_the_charts_rows(visit):
    seen = open_dashboard(visit, "?drug=cocaine&fiscal_year=2022")
    for panel in expected_requests("cocaine", 2022):
        rows = seen.json(seen.page.get_attribute(f"#{panel}", "data-request"))["data"]
        downloaded = csv_rows(seen.text(seen.page.get_attribute(f"#{panel} a[data-role=csv]", "href")))
        assert len(downloaded) == len(rows) > 0, panel
        for json_row, csv_row in zip(rows, downloaded, strict=True):
            for name, value in json_row.items():
                if isinstance(value, float):
                    assert float(csv_row[name]) == pytest.approx(value, rel=1e-12), (panel, name)
                else:
                    assert csv_row[name] == as_csv_cell(value), (panel, name)


def test_under_every_chart_are_its_releases_and_caveats(visit):
    seen = open_dashboard(visit, "?drug=fentanyl&fiscal_year=2025")
    for panel in expected_requests("fentanyl", 2025):
        meta = seen.json(seen.page.get_attribute(f"#{panel}", "data-request"))["meta"]
        listed = seen.page.locator(f"#{panel} [data-role=releases] li").all_inner_texts()
        assert len(listed) == len(meta["releases"]) > 0, panel
        for text, release in zip(listed, meta["releases"], strict=True):
            assert release["file_name"] in text and release["title"] in text, panel
        caveats = seen.page.locator(f"#{panel} [data-role=caveats] li").all_inner_texts()
        assert caveats == meta["caveats"], panel


def test_the_claims_panel_lists_every_claim_with_its_verdict_figures_and_requests(visit):
    seen = open_dashboard(visit)
    claims = seen.json("/claims")["data"]
    page = seen.page
    assert page.eval_on_selector_all("[data-claim-id]", "els => els.map(e => e.dataset.claimId)") == [
        c["id"] for c in claims]
    for claim in claims:
        card = page.locator(f"[data-claim-id='{claim['id']}']")
        assert card.get_attribute("data-verdict") == claim["verdict"]
        assert card.locator("h3").inner_text() == claim["claim"]
        assert card.locator(".claim-header .verdict").inner_text() == claim["verdict"]
        assert claim["quote"] in card.locator(".quote").inner_text()
        definitions = [claim["primary"], *claim["alternatives"]]
        blocks = card.locator("[data-definition-id]")
        assert blocks.count() == len(definitions)
        for k, definition in enumerate(definitions):
            block = blocks.nth(k)
            assert block.get_attribute("data-definition-id") == definition["id"]
            assert block.get_attribute("data-verdict") == definition["verdict"]
            assert float(block.get_attribute("data-value")) == definition["value"]
            assert block.locator(".explanation .verdict").inner_text() == definition["verdict"]
            links = block.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
            expected = [definition["value_request"]]
            if definition["denominator"]:
                assert float(block.get_attribute("data-numerator")) == definition["numerator"]["value"]
                assert float(block.get_attribute("data-denominator")) == definition["denominator"]["value"]
                expected += [definition["numerator"]["request"], definition["denominator"]["request"]]
            assert links == expected
    hrefs = page.locator("#claims-list a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    for href in hrefs[:6]:
        assert seen.json(href)["data"] is not None


def test_incomplete_periods_are_dashed_and_labelled(visit):
    seen = open_dashboard(visit, "?drug=fentanyl&fiscal_year=2026")
    page = seen.page
    years = seen.json(page.get_attribute("#seizure-years", "data-request"))["data"]
    partial = {(str(r["fiscal_year"]), r["component"]) for r in years if r["period_complete"] is False}
    assert partial == {("2026", "OFO"), ("2026", "USBP")}
    drawn = drawn_marks(page, "seizure-years")
    assert {key for key, (_, complete) in drawn.items() if not complete} == partial
    dashes = page.eval_on_selector_all(
        "#seizure-years svg [data-complete]",
        "els => els.map(e => [e.dataset.complete, getComputedStyle(e).strokeDasharray])")
    assert {complete for complete, dash in dashes if dash not in ("none", "")} == {"false"}
    assert "partial" in page.locator("#seizure-years svg.chart-svg").text_content()
    meta = seen.json(page.get_attribute("#seizure-months", "data-request"))["meta"]
    assert meta["complete"] is False
    last = meta["coverage"]["last_month"]
    unpublished = [f"{m:%Y-%m}" for m in h.fiscal_year_months(2026) if f"{m:%Y-%m}" > last]
    assert unpublished == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07",
                           "2026-08", "2026-09"]
    shown = page.eval_on_selector_all("#seizure-months svg [data-unavailable]",
                                      "els => els.map(e => e.dataset.unavailable)")
    assert shown == unpublished
    assert "not yet published" in page.locator("#seizure-months svg.chart-svg").text_content()
    assert seen.problems == []


def test_controls_are_labelled_and_every_chart_has_a_text_table(visit):
    seen = open_dashboard(visit, "?drug=heroin&fiscal_year=2023")
    page = seen.page
    assert page.get_by_label("Drug", exact=True).evaluate("e => e.id") == "drug"
    assert page.get_by_label("Fiscal year", exact=True).evaluate("e => e.id") == "fiscal-year"
    drugs = seen.json("/drugs")["data"]
    options = page.eval_on_selector_all("#drug option", "els => els.map(e => e.value)")
    assert options == [d["slug"] for d in drugs]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for panel in expected_requests("heroin", 2023):
        svg = page.locator(f"#{panel} svg.chart-svg")
        assert svg.get_attribute("role") == "img" and svg.get_attribute("aria-label"), panel
        rows = seen.json(page.get_attribute(f"#{panel}", "data-request"))["data"]
        assert page.locator(f"#{panel} [data-role=table] tbody tr").count() == len(rows), panel
        assert page.locator(f"#{panel} [data-role=table] th[scope=col]").count() > 1, panel


def test_the_phone_layout_fits_390_pixels_and_both_screenshots_are_written(visit, backend):
    seen = open_dashboard(visit, viewport=PHONE)
    assert seen.problems == []
    assert seen.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    check_charts(seen, "fentanyl", 2021)
    path = screenshot(seen.page, f"dashboard-phone-{backend}.png")
    assert path.stat().st_size > 10_000


CONTRAST = """() => {
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const color = rgb(getComputedStyle(e).backgroundColor);
      if (color.length < 4 || color[3] > 0) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  const selector = "h1, h2, h3, h4, h5, p, a, span, label, select, summary, th, td, dt, dd, li, q, strong";
  for (const element of document.querySelectorAll(selector)) {
    const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || element.closest("svg") || !element.getClientRects().length) continue;
    const [fg, bg] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))];
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) low.push(`${element.tagName.toLowerCase()}.${element.className}: ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def test_every_text_has_at_least_4_5_to_1_contrast(visit):
    seen = open_dashboard(visit, "?drug=fentanyl&fiscal_year=2026")
    page = seen.page
    page.eval_on_selector_all("details", "els => els.forEach(e => { e.open = true; })")
    assert page.evaluate(CONTRAST) == []
