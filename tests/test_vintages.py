"""Vintages, revisions and citations: the three seizure releases loaded one after another.

After each release is loaded the API's answers are recorded; once all three are in, every answer
`as_of` an earlier release must be the answer the API gave then (the same figures and meta, only
the vintage named), byte for byte the same before and after a newer release, with an immutable
Cache-Control and the same ETag. Figures are checked against the files read with the csv module
(tests/official_csv.py): a month comes from the file of the vintage whose data run latest.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import api_helpers as h
import official_csv as oracle
import pytest
from sqlalchemy import func, select, update

from app.datasets import SEIZURES
from app.db import database_urls, make_sync_engine
from app.ingest.load import ingest_paths
from app.models import Release

SEIZURE_FILES = h.SEIZURE_FILES
IMMUTABLE = "public, max-age=31536000, immutable"
# Every dimension of the seizure registry grouped (with a grain), plus comparisons and a CSV.
PROBES = [
    *(f"/seizures?group_by={dim.name},fiscal_year&limit=10000" for dim in SEIZURES.dimensions),
    "/seizures?drug=fentanyl&group_by=month&limit=10000",
    "/seizures?drug=fentanyl&group_by=fiscal_year",
    "/seizures?drug=fentanyl&region=southwest&fiscal_year=2022&group_by=component",
    "/comparisons/change?dataset=seizures&drug=fentanyl&before=FY2021&after=FY2022",
    "/comparisons/seizure-share?drug=fentanyl&fiscal_year=2021"
    "&part_area=san-diego-field-office,tucson-field-office&base=southwest-ofo",
    "/comparisons/ports-vs-between?drug=fentanyl&fiscal_year=2021",
]
CSV_PROBE = "/seizures?drug=meth&group_by=fiscal_year,area&format=csv"
BYTES_PROBES = [PROBES[-5], PROBES[-3], CSV_PROBE]


@dataclass
class History:
    """What the API answered after each load, and the vintage answers seen at each later one."""

    url: str
    # The newest release after each load: the vintage permalinks pinned then (the first command
    # also loads the NCHS reference figures shipped in seed/, a release of its own).
    release_ids: list[int] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)  # load -> probe -> JSON
    csv: list[bytes] = field(default_factory=list)  # load -> CSV_PROBE body
    # (as_of release, probe) -> [(body, etag, cache-control) seen after each load from then on]
    pinned: dict[tuple[int, str], list[tuple[bytes, str, str]]] = field(
        default_factory=lambda: defaultdict(list))


def with_as_of(url: str, release_id: int | str) -> str:
    return f"{url}&as_of={release_id}"


@pytest.fixture(scope="module")
def history(_databases, data_dir: Path) -> Iterator[History]:
    url = _databases.create()
    engine = make_sync_engine(database_urls(url))
    found = History(url)
    try:
        for name in SEIZURE_FILES:
            ingest_paths(engine, [str(data_dir / name)])
            with engine.connect() as conn:
                found.release_ids.append(conn.scalar(select(func.max(Release.id))))
            with h.api_client(url) as client:
                found.answers.append({p: h.get_json(client, p) for p in PROBES})
                found.csv.append(client.get(CSV_PROBE).content)
                for earlier in found.release_ids:
                    for probe in BYTES_PROBES:
                        response = client.get(with_as_of(probe, earlier))
                        assert response.status_code == 200, response.text[:500]
                        found.pinned[(earlier, probe)].append(
                            (response.content, response.headers["etag"],
                             response.headers["cache-control"]))
        yield found
    finally:
        engine.dispose()
        _databases.drop(url)


def strip_vintage(value: Any, release_id: int) -> Any:
    """An answer with its vintage left out: meta's vintage keys, and as_of in the links."""
    if isinstance(value, dict):
        return {k: strip_vintage(v, release_id) for k, v in value.items()
                if k not in ("data_version", "vintage", "permalink")}
    if isinstance(value, list):
        return [strip_vintage(v, release_id) for v in value]
    if isinstance(value, str):
        return value.replace(f"&as_of={release_id}", "").replace(f"?as_of={release_id}", "")
    return value


def test_as_of_answers_what_the_api_said_then(history: History) -> None:
    """For every probe (every seizure dimension, comparisons): the answer as of release k equals
    the answer recorded when k was the newest release, and meta names the vintage."""
    with h.api_client(history.url) as client:
        for load, release_id in enumerate(history.release_ids):
            for probe in PROBES:
                body = h.get_json(client, with_as_of(probe, release_id))
                then = history.answers[load][probe]
                now, before = strip_vintage(body, release_id), strip_vintage(then, release_id)
                # Exact: pounds are summed from integer parts, so a vintage's sum over the facts
                # is the current answer's sum over the rollups to the last bit.
                assert now == before, probe
                vintage = body["meta"]["vintage"]
                assert vintage["release_id"] == release_id and vintage["as_of"] == str(release_id)
                assert max(vintage["release_ids"]) == release_id
                assert body["meta"]["data_version"] is None
                assert body["meta"]["permalink"] == with_as_of(probe, release_id)
                assert then["meta"]["permalink"] == with_as_of(probe, release_id)
            csv_then = client.get(with_as_of(CSV_PROBE, release_id)).content
            assert csv_then == history.csv[load]


def test_as_of_answer_is_byte_identical_after_newer_releases(history: History) -> None:
    """The same bytes, ETag and immutable Cache-Control at every load after the vintage's; and a
    revalidation with that ETag is a 304 once a newer release is in."""
    for release_id in history.release_ids:
        for probe in BYTES_PROBES:
            seen = history.pinned[(release_id, probe)]
            assert len(seen) == len(history.release_ids) - history.release_ids.index(release_id)
            assert {body for body, _, _ in seen} == {seen[0][0]}, (release_id, probe)
            assert {etag for _, etag, _ in seen} == {seen[0][1]}
            assert {control for _, _, control in seen} == {IMMUTABLE}
    first = history.release_ids[0]
    etag = history.pinned[(first, PROBES[-5])][0][1]
    with h.api_client(history.url) as client:
        response = client.get(with_as_of(PROBES[-5], first), headers={"If-None-Match": etag})
        assert response.status_code == 304 and response.headers["cache-control"] == IMMUTABLE
        current = client.get(PROBES[-5])
        assert current.headers["cache-control"] != IMMUTABLE


def test_as_of_figures_equal_the_files_of_each_vintage(history: History, data_dir: Path) -> None:
    """Fentanyl pounds and events by fiscal year under each vintage, from the csv module: each
    month from the file of the vintage whose data run latest; meta names that file."""
    month_of = oracle.cbp_month("FY")
    with h.api_client(history.url) as client:
        for load, release_id in enumerate(history.release_ids):
            files = [data_dir / name for name in SEIZURE_FILES[:load + 1]]
            pounds: dict[int, float] = defaultdict(float)
            events: dict[int, int] = defaultdict(int)
            for month, row in oracle.rows_as_of(files, month_of):
                if row["Drug Type"] == "Fentanyl":
                    fy = month.year + (month.month >= 10)
                    pounds[fy] += float(row["Sum Qty (lbs)"])
                    events[fy] += int(row["Count of Event"])
            body = h.get_json(client, "/seizures",
                              {"drug": "fentanyl", "group_by": "fiscal_year", "as_of": release_id})
            assert [r["fiscal_year"] for r in body["data"]] == sorted(pounds)
            for row in body["data"]:
                fy = row["fiscal_year"]
                # The API writes 10 significant digits, the precision of CBP's files.
                assert row["quantity_lbs"] == float(f"{pounds[fy]:.10g}"), fy
                assert row["event_count"] == events[fy]
            # Which file answers FY2021 (2020-10..2021-09) in this vintage, by the ranking rule.
            by_file = {n: {month_of(r) for r in oracle._read(data_dir / n)}
                       for n in SEIZURE_FILES[:load + 1]}
            holders = [n for n in SEIZURE_FILES[:load + 1]
                       if dt.date(2020, 10, 1) in by_file[n]]
            expected = max(holders, key=lambda n: (max(by_file[n]), min(by_file[n]),
                                                   SEIZURE_FILES.index(n)))
            fy2021 = h.get_json(client, "/seizures", {"drug": "fentanyl", "fiscal_year": "2021",
                                                      "as_of": release_id})
            assert [r["file_name"] for r in fy2021["meta"]["releases"]] == [expected]


def test_revisions_of_the_seizure_releases(history: History, data_dir: Path) -> None:
    """CBP's three seizure files agree on every month they share (within the ingest's tolerance:
    one release rounds pounds), so /revisions lists no figure; the csv module agrees."""
    first, second, third = (oracle.seizure_cells(data_dir / n) for n in SEIZURE_FILES)
    shared = 0
    for older, newer in ((first, second), (second, third)):
        months = {k[0] for k in older} & {k[0] for k in newer}
        shared += len(months)
        cells_old = {k: v for k, v in older.items() if k[0] in months}
        cells_new = {k: v for k, v in newer.items() if k[0] in months}
        assert cells_old.keys() == cells_new.keys()
        assert all(cells_old[k][0] == cells_new[k][0]
                   and math.isclose(cells_old[k][1], cells_new[k][1], rel_tol=1e-9, abs_tol=1e-6)
                   for k in cells_old)
    assert shared == 36 + 12
    with h.api_client(history.url) as client:
        body = h.get_json(client, "/revisions", {"dataset": "seizures"})
        assert body["data"] == [] and body["meta"]["total_rows"] == 0
        assert body["meta"]["compared"] == []
        csv = client.get("/revisions", params={"dataset": "seizures", "format": "csv"})
        assert csv.status_code == 200
        assert csv.text.splitlines()[0].split(",")[:3] == ["dataset", "source", "period"]
        assert len(csv.text.splitlines()) == 1


def test_cite_names_the_file_behind_each_vintage(history: History) -> None:
    """/cite of a FY2023 figure: as of the second release it is the fy20-fy23 file; without
    as_of it is pinned to the newest release, whose fy23-fy26 file answers FY2023."""
    second, third = history.release_ids[1], history.release_ids[2]
    request = "/seizures?drug=fentanyl&fiscal_year=2023"
    with h.api_client(history.url) as client:
        cited = h.get_json(client, "/cite", {"url": with_as_of(request, second)})["data"]
        assert [r["file_name"] for r in cited["releases"]] == [SEIZURE_FILES[1]]
        assert cited["as_of"] == str(second)
        assert cited["url"] == f"http://testserver{with_as_of(request, second)}"
        assert cited["apa"].startswith("U.S. Customs and Border Protection. (")
        assert SEIZURE_FILES[1] in cited["apa"] and "data 2019-10 to 2023-09" in cited["apa"]
        assert cited["apa"].endswith(f"from http://testserver{with_as_of(request, second)}")
        assert cited["bibtex"].startswith("@misc{borderstats_cbp_drug_seizures_fy20_fy23_asof_")
        assert "\\url{http://testserver" in cited["bibtex"]
        item = cited["csl_json"][0]
        assert item["type"] == "dataset" and item["URL"] == cited["url"]
        assert item["author"] == [{"literal": "U.S. Customs and Border Protection"}]
        today = dt.datetime.now(dt.UTC).date()
        assert item["accessed"] == {"date-parts": [[today.year, today.month, today.day]]}
        latest = h.get_json(client, "/cite", {"url": request})["data"]
        assert latest["as_of"] == str(third)
        assert [r["file_name"] for r in latest["releases"]] == [SEIZURE_FILES[2]]
        # The cited answer is the one the permalink gives.
        answer = h.get_json(client, "/seizures", {"drug": "fentanyl", "fiscal_year": "2023"})
        assert answer["meta"]["permalink"] == with_as_of(request, third)
        assert [r["id"] for r in answer["meta"]["releases"]] == [r["id"] for r in latest["releases"]]


def test_as_of_by_day_uses_load_times(history: History, database_factory, data_dir: Path) -> None:
    """as_of=YYYY-MM-DD: the releases loaded by the end of that day (UTC)."""
    url = database_factory.new()
    engine = database_factory.engine(url)
    first = ingest_paths(engine, [str(data_dir / SEIZURE_FILES[0])])
    second = ingest_paths(engine, [str(data_dir / SEIZURE_FILES[1])])
    early = [r.release_id for r in first]
    with engine.begin() as conn:
        conn.execute(update(Release).where(Release.id.in_(early))
                     .values(loaded_at=dt.datetime(2025, 1, 10, 23, 30, tzinfo=dt.UTC)))
        conn.execute(update(Release).where(Release.id == second[0].release_id)
                     .values(loaded_at=dt.datetime(2025, 3, 5, 8, 0, tzinfo=dt.UTC)))
    probe = "/seizures?drug=fentanyl&group_by=fiscal_year"
    with h.api_client(url) as client:
        for day, newest in (("2025-01-10", max(early)), ("2025-03-04", max(early)),
                            ("2025-03-05", second[0].release_id), ("2026-01-01", second[0].release_id)):
            body = h.get_json(client, with_as_of(probe, day))
            assert body["meta"]["vintage"]["as_of"] == day
            assert body["meta"]["vintage"]["release_id"] == newest
            by_id = h.get_json(client, with_as_of(probe, newest))
            assert body["data"] == by_id["data"]
        before = client.get(with_as_of(probe, "2025-01-09"))
        assert before.status_code == 422
        error = before.json()["error"]
        assert error["parameter"] == "as_of" and "no release was loaded by the end of" in error["message"]


@pytest.mark.parametrize("as_of", ["999", "abc", "2025-02-30", "", "-1", "today"])
def test_bad_as_of_is_a_422_naming_it(history: History, as_of: str) -> None:
    value = dt.datetime.now(dt.UTC).date().isoformat() if as_of == "today" else as_of
    with h.api_client(history.url) as client:
        for path in ("/seizures?drug=fentanyl", "/comparisons/ports-vs-between?drug=fentanyl",
                     "/claims", "/revisions?dataset=seizures"):
            response = client.get(f"{path}{'&' if '?' in path else '?'}as_of={quote(value)}")
            assert response.status_code == 422, (path, as_of, response.text[:300])
            error = response.json()["error"]
            assert error["parameter"] == "as_of" and error["value"] == value
            assert response.headers["cache-control"] == "no-store"


def test_a_revised_figure_is_listed_and_each_vintage_keeps_its_value(
        database_factory, data_dir: Path, tmp_path: Path) -> None:
    """No official file revises a seizure figure, so a copy of the newest seizure file with one
    cell corrected stands in for CBP's next release: the ingest counts one revised month,
    /revisions lists that cell's two measures with both values, and the data endpoints and
    POST /claims/verify answer the old figure as of the first release and the new one now."""
    source = data_dir / SEIZURE_FILES[2]
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    index = next(i for i, r in enumerate(rows) if r["Drug Type"] == "Fentanyl"
                 and r["Region"] == "Southwest Border" and r["Component"] == "Office of Field Operations"
                 and not r["FY"].endswith("(FYTD)"))
    old = rows[index]
    new = {**old, "Count of Event": str(int(old["Count of Event"]) + 7),
           "Sum Qty (lbs)": repr(float(old["Sum Qty (lbs)"]) + 100.25)}
    corrected = tmp_path / "cbp-drug-seizures-fy23-fy26-dec-corrected.csv"
    with corrected.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows([new if i == index else r for i, r in enumerate(rows)])
    month = oracle.cbp_month("FY")(old)
    area = old["Area of Responsibility"]

    def expected(path: Path) -> tuple[float, int]:
        cells = [r for r in oracle._read(path) if oracle.cbp_month("FY")(r) == month
                 and r["Drug Type"] == "Fentanyl" and r["Area of Responsibility"] == area]
        return (float(f"{math.fsum(float(r['Sum Qty (lbs)']) for r in cells):.10g}"),
                sum(int(r["Count of Event"]) for r in cells))

    engine = database_factory.engine()
    [first] = ingest_paths(engine, [str(source)])
    [second] = ingest_paths(engine, [str(corrected)])
    assert (second.revised, second.new, second.superseded) == (1, 0, 0)
    assert second.unchanged == len({oracle.cbp_month("FY")(r) for r in rows}) - 1
    url = engine.url.render_as_string(hide_password=False)
    figure = {"drug": "fentanyl", "month": f"{month:%Y-%m}", "area": area}
    with h.api_client(url) as client:
        body = h.get_json(client, "/revisions", {"dataset": "seizures"})
        assert body["meta"]["total_rows"] == 2
        by_measure = {r["measure"]: r for r in body["data"]}
        lbs, events = by_measure["quantity_lbs"], by_measure["event_count"]
        assert (events["older_value"], events["newer_value"], events["difference"]) == (
            int(old["Count of Event"]), int(new["Count of Event"]), 7)
        assert lbs["older_value"] == float(f"{float(old['Sum Qty (lbs)']):.10g}")
        assert lbs["newer_value"] == float(f"{float(new['Sum Qty (lbs)']):.10g}")
        assert lbs["difference"] == pytest.approx(100.25, abs=1e-6)
        for row in (lbs, events):
            assert (row["period"], row["change"]) == (f"{month:%Y-%m}", "revised")
            assert (row["older_release"], row["newer_release"]) == (first.release_id,
                                                                    second.release_id)
        for as_of, path in ((first.release_id, source), (None, corrected),
                            (second.release_id, corrected)):
            params = {**figure, **({"as_of": str(as_of)} if as_of else {})}
            [row] = h.get_json(client, "/seizures", params)["data"]
            assert (row["quantity_lbs"], row["event_count"]) == expected(path), as_of
        # A claim submitted for verification is judged on the figure of the vintage asked for.
        threshold = (int(old["Count of Event"]) + int(new["Count of Event"])) / 2
        claim = {"claim": "More seizure events than the threshold.",
                 "comparator": {"op": ">", "value": threshold, "unit": "events"},
                 "definitions": [{"id": "events", "kind": "value", "dataset": "seizures",
                                  "measure": "event_count", "filters": figure}]}
        verdicts = {}
        for as_of in (first.release_id, second.release_id, None):
            response = client.post("/claims/verify", json=claim,
                                   params={"as_of": str(as_of)} if as_of else {})
            assert response.status_code == 200, response.text
            result = response.json()["data"]
            verdicts[as_of] = (result["verdict"], result["primary"]["value"])
            assert response.json()["meta"]["vintage"] == (
                None if as_of is None else {"as_of": str(as_of), "release_id": as_of,
                                            "release_ids": list(range(1, as_of + 1))})
        assert verdicts == {first.release_id: ("not supported", expected(source)[1]),
                            second.release_id: ("supported", expected(corrected)[1]),
                            None: ("supported", expected(corrected)[1])}
