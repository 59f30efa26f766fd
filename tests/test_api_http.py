"""HTTP behaviour: ETag and 304, caching headers, CORS, gzip, paging, SQL statements per request."""

from __future__ import annotations

import gzip
from urllib.parse import parse_qsl, urlsplit

import api_helpers as h
import pytest
from sqlalchemy import event

from app.ingest.load import ingest_paths

GET_PATHS = [
    ("/seizures", {"drug": "fentanyl", "group_by": "fiscal_year"}),
    ("/encounters", {"sector": "rgv", "fiscal_year": "2022"}),
    ("/overdose-deaths", {"year": "2021"}),
    ("/drugs", {}),
    ("/areas", {"state": "TX"}),
    ("/releases", {}),
    ("/datasets", {}),
    ("/seizure-events", {"port": "nogales"}),
    ("/comparisons", {}),
    ("/claims", {}),
]


@pytest.fixture(scope="module")
def client(loaded_url: str):
    with h.api_client(loaded_url) as test_client:
        yield test_client


# --- ETag, 304, Cache-Control --------------------------------------------------------------------

@pytest.mark.parametrize(("path", "params"), GET_PATHS)
def test_every_get_has_an_etag_and_cache_control_and_answers_304_when_it_matches(client, path, params):
    first = client.get(path, params=params)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and etag.endswith('"')
    assert first.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
    again = client.get(path, params=params)
    assert again.headers["etag"] == etag and again.content == first.content
    not_modified = client.get(path, params=params, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"] == first.headers["cache-control"]
    strong = etag.removeprefix("W/")
    listed = client.get(path, params=params, headers={"If-None-Match": f'"nope", {strong}'})
    assert listed.status_code == 304
    stale = client.get(path, params=params, headers={"If-None-Match": 'W/"0-0"'})
    assert stale.status_code == 200 and stale.content == first.content


def test_csv_has_its_own_etag_and_answers_304(client):
    params = {"drug": "heroin", "group_by": "area"}
    as_json = client.get("/seizures", params=params)
    as_csv = client.get("/seizures", params={**params, "format": "csv"})
    by_accept = client.get("/seizures", params=params, headers={"Accept": "text/csv"})
    assert as_csv.headers["etag"] != as_json.headers["etag"]
    # the same URL in two representations: two ETags, and Vary says why
    assert by_accept.headers["etag"] != as_json.headers["etag"]
    assert "accept" in by_accept.headers["vary"].lower().replace(" ", "").split(",")
    again = client.get("/seizures", params={**params, "format": "csv"},
                       headers={"If-None-Match": as_csv.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_a_different_query_has_a_different_etag_and_parameter_order_does_not_matter(client):
    etags = {client.get("/seizures", params=p).headers["etag"] for p in (
        {"drug": "fentanyl"}, {"drug": "cocaine"}, {"drug": "fentanyl", "fiscal_year": "2021"},
        {"drug": "fentanyl", "group_by": "month"}, {"drug": "fentanyl", "limit": "7"})}
    assert len(etags) == 5
    a = client.get("/seizures?drug=fentanyl&fiscal_year=2021&group_by=area")
    b = client.get("/seizures?group_by=area&fiscal_year=2021&drug=fentanyl")
    assert a.headers["etag"] == b.headers["etag"] and a.json() == b.json()
    other_path = client.get("/encounters", params={"fiscal_year": "2021"}).headers["etag"]
    assert other_path != client.get("/seizures", params={"fiscal_year": "2021"}).headers["etag"]


@pytest.mark.parametrize(("path", "status"), [("/seizures?drug=unobtainium", 422), ("/drugsxyz", 404)])
def test_if_none_match_star_does_not_hide_an_error(client, path, status):
    assert client.get(path, headers={"If-None-Match": "*"}).status_code == status


def test_if_none_match_star_on_a_valid_query_is_304(client):
    assert client.get("/drugs", headers={"If-None-Match": "*"}).status_code == 304


def test_vary_names_each_header_once(client):
    response = client.get("/seizures", params={"group_by": "area,month"},
                          headers={"Accept-Encoding": "gzip"})
    names = [v.strip().lower() for v in response.headers["vary"].split(",")]
    assert len(names) == len(set(names))


def _vary(response) -> list[str]:
    return [v.strip().lower() for v in response.headers["vary"].split(",")]


def test_a_304_names_what_its_200_varies_by_computed_cached_or_compressed(loaded_url):
    """RFC 9110 15.4.5: a 304 carries the Vary its 200 would. Over every cacheable path (JSON
    and CSV, bodies under and over the gzip minimum), for a client that accepts gzip and one
    that does not: the computed 200, the cached 200 and the 304 name the same headers, each once,
    Accept and Accept-Encoding among them."""
    paths = [*GET_PATHS, ("/revisions", {"dataset": "seizures"}),
             ("/seizures", {"drug": "heroin", "group_by": "area", "format": "csv"}),
             ("/drugs", {"bom": "false"})]
    sizes = set()
    with h.api_client(loaded_url) as fresh:  # nothing cached yet: the first GET computes
        for path, params in paths:
            for encoding in ("gzip", "identity"):
                headers = {"Accept-Encoding": encoding}
                computed = fresh.get(path, params=params, headers=headers)
                cached = fresh.get(path, params=params, headers=headers)
                assert computed.status_code == cached.status_code == 200, (path, params)
                sizes.add(len(computed.content) >= 1000)
                revalidated = fresh.get(path, params=params, headers={
                    **headers, "If-None-Match": computed.headers["etag"]})
                assert revalidated.status_code == 304, (path, params)
                names = _vary(computed)
                assert len(names) == len(set(names)), (path, params, names)
                assert {"accept", "accept-encoding"} <= set(names), (path, params, names)
                assert _vary(cached) == _vary(revalidated) == names, (path, params, encoding)
    assert sizes == {True, False}  # bodies on both sides of the gzip minimum


def test_etag_and_figures_change_after_a_new_ingest_without_restarting(database_url,
                                                                       database_factory):
    engine = database_factory.engine(database_url)
    ingest_paths(engine, [str(h.DATA_DIR / "cbp-drug-seizures-fy19-fy22.csv")])
    params = {"drug": "fentanyl", "group_by": "fiscal_year"}
    with h.api_client(database_url) as client:
        before = client.get("/seizures", params=params)
        assert before.status_code == 200
        assert [r["fiscal_year"] for r in before.json()["data"]] == [2019, 2020, 2021, 2022]
        releases_before = client.get("/releases")
        ingest_paths(engine, [str(h.DATA_DIR / "cbp-drug-seizures-fy23-fy26-dec.csv")])
        after = client.get("/seizures", params=params, headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200
        assert after.headers["etag"] != before.headers["etag"]
        assert after.json()["meta"]["data_version"] > before.json()["meta"]["data_version"]
        rows, _ = h.seizures()
        expected = h.aggregate([r for r in rows if r["drug"] == "fentanyl"
                                and h.fiscal_year_of(r["month"]) >= 2023],
                               [h.by_grain("fiscal_year")], ["quantity_lbs"])
        got = {r["fiscal_year"]: r["quantity_lbs"] for r in after.json()["data"]}
        assert set(got) == set(range(2019, 2027))
        for (fy,), sums in expected.items():
            assert got[fy] == h.lbs(sums["quantity_lbs"])
        assert {r["file_name"] for r in after.json()["meta"]["releases"]} == {
            "cbp-drug-seizures-fy19-fy22.csv", "cbp-drug-seizures-fy23-fy26-dec.csv"}
        releases_after = client.get("/releases")
        assert releases_after.headers["etag"] != releases_before.headers["etag"]
        assert len(releases_after.json()["data"]) == len(releases_before.json()["data"]) + 1


# --- CORS and gzip -------------------------------------------------------------------------------

def test_cors_allows_any_origin_by_default_and_exposes_the_etag(client):
    for _ in range(2):  # the second answer comes from the response cache
        response = client.get("/drugs", headers={"Origin": "https://news.example"})
        assert response.headers["access-control-allow-origin"] == "*"
        exposed = {v.strip().lower() for v in response.headers["access-control-expose-headers"].split(",")}
        assert {"etag", "content-disposition"} <= exposed


def test_cors_origins_are_configurable(loaded_url):
    with h.api_client(loaded_url, cors_origins=["https://dashboard.example"]) as client:
        allowed = client.get("/seizures", params={"drug": "fentanyl"},
                             headers={"Origin": "https://dashboard.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://dashboard.example"
        other = client.get("/seizures", params={"drug": "fentanyl"},
                           headers={"Origin": "https://elsewhere.example"})
        assert other.status_code == 200
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options("/seizures", headers={
            "Origin": "https://dashboard.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://dashboard.example"
        assert "GET" in preflight.headers["access-control-allow-methods"]
        refused = client.options("/seizures", headers={
            "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"})
        assert refused.status_code == 400


def test_large_bodies_are_gzipped_when_the_client_accepts_gzip(client):
    params = {"group_by": "area,month", "limit": "2000"}
    for _ in range(2):  # computed, then from the response cache
        zipped = client.get("/seizures", params=params, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert len(zipped.content) > 10_000
    plain = client.get("/seizures", params=params, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.json() == zipped.json()
    with client.stream("GET", "/seizures", params=params, headers={"Accept-Encoding": "gzip"}) as raw:
        compressed = b"".join(raw.iter_raw())
    assert gzip.decompress(compressed) == plain.content
    assert len(compressed) < len(plain.content) / 4
    small = client.get("/drugs", params={"bom": "false"}, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_a_cached_body_is_compressed_once_and_sent_as_the_gzip_layer_sends_it(client):
    """A hit from a client that accepts gzip is served from a compressed copy kept with the
    cached body (made at the first such hit), with the headers GZipMiddleware gives a miss."""
    params = {"group_by": "drug,month", "fiscal_year": "2023", "limit": "500"}
    plain = client.get("/seizures", params=params, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and len(plain.content) > 1000
    raws = []
    for _ in range(2):  # both hits: the identity request above computed and kept the body
        with client.stream("GET", "/seizures", params=params,
                           headers={"Accept-Encoding": "gzip, deflate"}) as answer:
            raw = b"".join(answer.iter_raw())
            assert answer.headers["content-encoding"] == "gzip"
            # as the gzip layer says it of the same body sent plain (CORS adds Origin)
            assert answer.headers["vary"] == plain.headers["vary"]
            assert "Accept-Encoding" in answer.headers["vary"]
            assert int(answer.headers["content-length"]) == len(raw)
            assert answer.headers["etag"] == plain.headers["etag"]
            assert answer.headers["content-type"] == plain.headers["content-type"]
        assert gzip.decompress(raw) == plain.content
        raws.append(raw)
    [kept] = [item for item in client.app.state.responses._items.values()
              if item.body == plain.content]
    assert kept.gzipped == raws[0] == raws[1]
    # the kept copy counts toward the cache's bound on bytes
    responses = client.app.state.responses
    assert responses.size == sum(len(i.body) + len(i.gzipped or b"")
                                 for i in responses._items.values())
    again = client.get("/seizures", params=params, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in again.headers and again.content == plain.content


def test_a_gzip_copy_that_would_not_fit_beside_its_body_is_not_kept(loaded_url):
    """With a bound that holds a body but not the body and its compressed copy, a gzip hit is
    still a hit and the body stays cached (the copy is made for that answer and not kept: kept,
    it would evict its own entry)."""
    params = {"group_by": "drug,month", "fiscal_year": "2023", "limit": "500"}
    with h.api_client(loaded_url) as probe:
        size = len(probe.get("/seizures", params=params).content)
    with h.api_client(loaded_url, cache_mb=(size + 100) / 1_000_000) as client:
        plain = client.get("/seizures", params=params, headers={"Accept-Encoding": "identity"})
        responses = client.app.state.responses
        [kept] = responses._items.values()
        for _ in range(3):
            zipped = client.get("/seizures", params=params, headers={"Accept-Encoding": "gzip"})
            assert zipped.headers["content-encoding"] == "gzip"
            assert zipped.content == plain.content  # httpx decompresses it
            assert list(responses._items.values()) == [kept] and kept.gzipped is None
        assert responses.size == len(plain.content)


# --- paging --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "params"), [
    ("/seizures", {"group_by": "area,fiscal_year", "region": "southwest"}),
    ("/seizures", {"group_by": "drug,quarter", "sort": "-quantity_lbs", "fiscal_year": "2024"}),
    ("/encounters", {"group_by": "citizenship,fiscal_year", "region": "southwest"}),
    ("/encounters", {"group_by": "sector,calendar_year", "from": "2015-01", "sort": "-encounter_count"}),
    ("/overdose-deaths", {"group_by": "state,year", "from": "2018"}),
])
def test_paging_returns_every_row_exactly_once(client, path, params):
    whole = h.get_json(client, path, {**params, "limit": "10000"})
    total = whole["meta"]["total_rows"]
    assert total == len(whole["data"]) > 7 * 3
    seen = []
    url, pages = f"{path}", 0
    query = {**params, "limit": "7"}
    while url:
        body = h.get_json(client, url, query)
        meta = body["meta"]
        assert meta["total_rows"] == total and meta["limit"] == 7
        assert meta["row_count"] == len(body["data"]) == min(7, total - meta["offset"])
        assert meta["offset"] == pages * 7
        seen.extend(body["data"])
        pages += 1
        if meta["next"] is None:
            break
        split = urlsplit(meta["next"])
        url, query = split.path, parse_qsl(split.query, keep_blank_values=True)
        assert dict(query)["offset"] == str(pages * 7) and dict(query)["limit"] == "7"
    assert pages == -(-total // 7)
    assert seen == whole["data"]
    keys = [k for k in whole["data"][0] if not isinstance(whole["data"][0][k], int | float)
            or k.endswith("year")]
    assert len({tuple(r[k] for k in keys) for r in seen}) == total


def test_an_offset_past_the_end_is_an_empty_page_without_next(client):
    body = h.get_json(client, "/overdose-deaths", {"group_by": "state", "year": "2021", "offset": "50"})
    assert body["data"] == [] and body["meta"]["next"] is None and body["meta"]["row_count"] == 0


def test_total_rows_is_the_group_count_on_a_page_past_the_end(client):
    body = h.get_json(client, "/overdose-deaths", {"group_by": "state", "year": "2021", "offset": "60"})
    assert body["meta"]["total_rows"] == len({s for s, y in h.state_deaths() if y == 2021}) == 50


# --- SQL statements per request: an exact budget for every operation -----------------------------

# (path, params, statements once the data version is trusted). A data request is one statement; a
# comparison or a claim computes all its figures in one statement (a batch); the reference
# listings come from the catalog; a like-for-like change needs a second round.
BUDGETS = [
    ("/seizures", {"drug": "fentanyl", "group_by": "area,month"}, 1),
    ("/seizures", {"state": "NM", "group_by": "state"}, 1),
    # A whole download: the data version and one cursor, in one snapshot.
    ("/seizures", {"drug": "cocaine", "format": "csv"}, 2),
    ("/seizures", {"drug": "cocaine", "format": "ndjson"}, 2),
    ("/encounters", {"region": "southwest", "group_by": "citizenship"}, 1),
    ("/encounters", {"sector": "yuma", "group_by": "month"}, 1),
    ("/overdose-deaths", {"group_by": "category,year"}, 1),
    ("/drugs", {"bom": "false"}, 0),
    ("/areas", {"state": "CA"}, 0),
    ("/releases", {"dataset": "seizures"}, 0),
    ("/datasets", {"format": "json"}, 0),
    ("/seizure-events", {"state": "AZ"}, 1),
    ("/comparisons", {}, 0),
    ("/comparisons/seizure-share", {"drug": "fentanyl", "fiscal_year": "2021",
                                    "part_area": "san-diego-field-office,tucson-field-office",
                                    "base": "southwest-ofo"}, 1),
    ("/comparisons/encounter-share", {"region": "southwest", "fiscal_year": "2021",
                                      "part_state": "CA,AZ"}, 1),
    ("/comparisons/seizures-vs-encounters", {"drug": "fentanyl", "fiscal_year": "2021",
                                             "groups": "CA,AZ;NM,TX"}, 1),
    ("/comparisons/seizures-vs-encounters", {"drug": "fentanyl", "fiscal_year": "2025",
                                             "groups": "CA,AZ;NM,TX"}, 1),
    ("/comparisons/ports-vs-between", {"drug": "fentanyl", "fiscal_year": "2021"}, 1),
    ("/comparisons/change", {"dataset": "overdose_deaths", "before": "2020", "after": "2021"}, 1),
    ("/comparisons/change", {"dataset": "seizures", "drug": "fentanyl", "before": "FY2025",
                             "after": "FY2026"}, 2),  # the same months of each: a second round
    ("/claims", {}, 1),
    ("/claims/fentanyl-caaz-port-share", {}, 1),
    ("/healthz", {}, 0),
]
VERIFY = {"claim": "Most fentanyl seized at the southwest border in FY2022 was at ports of entry.",
          "comparator": {"op": ">", "value": 0.5, "unit": "share"},
          "definitions": [{"id": "sw-ports", "kind": "share", "dataset": "seizures",
                           "measure": "quantity_lbs",
                           "filters": {"drug": "fentanyl", "fiscal_year": "2022"},
                           "part": {"component": "ofo"}, "base": {"region": "southwest"}}]}


def statements_per_request(client) -> list[tuple[str, dict, int]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = client.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        client.get("/drugs")  # warm-up: the catalog is loaded once
        out = []
        for path, params, _budget in BUDGETS:
            statements.clear()
            # Each request once, with the response cache off: every one does its work.
            response = client.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            response.read()
            out.append((path, params, len(statements)))
        statements.clear()
        assert client.post("/claims/verify", json=VERIFY).status_code == 200
        out.append(("/claims/verify", {}, len(statements)))
        return out
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_every_operation_runs_exactly_its_budget_of_sql_statements(loaded_url):
    with h.api_client(loaded_url, version_ttl_seconds=60, cache_entries=0) as client:
        counts = statements_per_request(client)
    assert counts == [(p, q, n) for p, q, n in BUDGETS] + [("/claims/verify", {}, 1)], [
        (p, q, n, b) for (p, q, n), (_p, _q, b) in zip(counts, BUDGETS, strict=False) if n != b]


def test_an_untrusted_data_version_costs_one_more_tiny_statement(loaded_url):
    with h.api_client(loaded_url, version_ttl_seconds=0, cache_entries=0) as client:
        counts = statements_per_request(client)
    # /healthz never touches the database; everything else reads the version first.
    assert counts == [(p, q, n + (p != "/healthz")) for p, q, n in BUDGETS] + [
        ("/claims/verify", {}, 2)]


# --- single flight: concurrent misses of the same answer compute it once ----------------------

async def _concurrent_statements(database_url: str, urls: list[str], *,
                                 cache_entries: int) -> tuple[int, list[bytes]]:
    """SQL statements run while `urls` are requested all at once (one app, one event loop), and
    the bodies answered."""
    import asyncio

    import httpx

    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(database_url=database_url, version_ttl_seconds=60,
                              cache_entries=cache_entries, log_level="WARNING"))
    statements: list[str] = []
    transport = httpx.ASGITransport(app=app)
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://test") as client):
        assert (await client.get("/drugs")).status_code == 200  # the catalog, read once

        def count(_conn, _cursor, statement, *_args):
            statements.append(statement)

        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            responses = await asyncio.gather(*(client.get(url) for url in urls))
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert [r.status_code for r in responses] == [200] * len(urls)
    return len(statements), [r.content for r in responses]


SAME = "/seizures?drug=cocaine&group_by=area,fiscal_year"


def test_concurrent_requests_for_one_new_answer_run_its_sql_once_and_share_it(loaded_url):
    import asyncio

    count, bodies = asyncio.run(_concurrent_statements(loaded_url, [SAME] * 8, cache_entries=64))
    assert count == 1
    assert len(set(bodies)) == 1 and b'"data"' in bodies[0]


def test_distinct_answers_each_run_their_own_sql(loaded_url):
    import asyncio

    urls = [f"{SAME}&limit={n}" for n in range(1, 9)]
    count, bodies = asyncio.run(_concurrent_statements(loaded_url, urls, cache_entries=64))
    assert count == 8
    assert len(set(bodies)) == 8


def test_without_the_response_cache_every_request_runs_its_sql(loaded_url):
    import asyncio

    count, _ = asyncio.run(_concurrent_statements(loaded_url, [SAME] * 8, cache_entries=0))
    assert count == 8


def test_the_response_cache_keeps_no_more_than_its_megabytes(loaded_url):
    """BORDERSTATS_CACHE_MB bounds what a worker keeps, however many distinct answers it serves;
    the newest answer stays cached (its repeat runs no SQL)."""
    with h.api_client(loaded_url, cache_mb=0.2, version_ttl_seconds=60) as client:
        responses = client.app.state.responses
        assert responses.max_bytes == 200_000
        sizes = []
        for n in range(1, 13):
            response = client.get("/seizures", params={"drug": "fentanyl", "limit": str(200 + n),
                                                       "group_by": "area,month"})
            assert response.status_code == 200
            sizes.append(len(response.content))
        assert sum(sizes) > 2 * responses.max_bytes and min(sizes) > 20_000
        assert 0 < responses.size <= responses.max_bytes
        statements = []
        listen = client.app.state.engine.sync_engine
        event.listen(listen, "before_cursor_execute", lambda *args: statements.append(args[2]))
        again = client.get("/seizures", params={"drug": "fentanyl", "limit": "212",
                                                "group_by": "area,month"})
        assert again.status_code == 200 and len(again.content) == sizes[-1]
        assert statements == []


def test_every_page_of_a_question_shares_one_plan(loaded_url):
    """The page (limit, offset) is bound per request: five pages build one plan, and together
    they are the rows of the one long page, in order."""
    question = {"drug": "fentanyl", "group_by": "area,month"}
    with h.api_client(loaded_url, cache_entries=0) as client:
        whole = h.get_json(client, "/seizures", {**question, "limit": "25"})["data"]
        pages = [h.get_json(client, "/seizures", {**question, "limit": "5", "offset": str(k)})["data"]
                 for k in range(0, 25, 5)]
        assert [row for page in pages for row in page] == whole and len(whole) == 25
        catalog = client.app.state.catalogs._catalog
        plans = [key for key in catalog.memo if key[0] == "plan"]
        assert len(plans) == 1
        # On Postgres its SQL was rendered once (IN lists expanded) and every page bound to it.
        rendered = catalog.memo[plans[0]].rendered
        if loaded_url.startswith("postgresql"):
            assert list(rendered) == ["psycopg"]
            sql, values = rendered["psycopg"]
            assert "POSTCOMPILE" not in sql and "page_limit" not in values
        else:
            assert rendered == {}


def test_other_questions_do_not_empty_what_the_catalog_remembers(loaded_url):
    """/claims alone remembers ~130 small things (months, notes, its batch); the memo is
    bounded by weight and lets the oldest go first, so the plan of a question asked before every
    other operation is still there after them, and asking again builds nothing new."""
    question = {"drug": "fentanyl", "group_by": "area,fiscal_year"}
    with h.api_client(loaded_url, cache_entries=0, version_ttl_seconds=60) as client:
        first = h.get_json(client, "/seizures", question)
        catalog = client.app.state.catalogs._catalog
        plans = {key: value for key, value in catalog.memo.items() if key[0] == "plan"}
        assert len(plans) == 1
        for path, params, _budget in BUDGETS:
            assert client.get(path, params=params).status_code == 200, path
        assert catalog is client.app.state.catalogs._catalog
        key, plan = next(iter(plans.items()))
        assert catalog.memo[key] is plan
        assert h.get_json(client, "/seizures", question) == first
        assert catalog.memo[key] is plan


def test_claims_prepare_their_batch_once_and_a_posted_claim_leaves_none(loaded_url):
    """GET /claims prepares its batch of figures (plans, SQL, shapers) once per data version and
    answers again from the same batch, with the same figures; a claim posted to /claims/verify
    is new each time and leaves no batch behind (a memo filling with batches never asked again
    would push out what is)."""
    with h.api_client(loaded_url, cache_entries=0, version_ttl_seconds=60) as client:
        first = h.get_json(client, "/claims")["data"]
        catalog = client.app.state.catalogs._catalog
        batches = {key: value for key, value in catalog.memo.items() if key[0] == "batch"}
        assert len(batches) == 1
        assert h.get_json(client, "/claims")["data"] == first
        for _ in range(2):
            assert client.post("/claims/verify", json=VERIFY).status_code == 200
        assert catalog is client.app.state.catalogs._catalog
        now = {key: value for key, value in catalog.memo.items() if key[0] == "batch"}
        assert now.keys() == batches.keys()
        assert all(now[key] is batches[key] for key in batches)
        # Each request shaped its rows with fresh shapers: the kept ones never saw a row.
        (batch,) = batches.values()
        assert batch.shapers and all(
            s.total == 0 and not s.has_data and not s.releases and s.first is None
            and s.last is None for s in batch.shapers)


# --- the event loop: no request hops to a thread, and the collector runs rarely while serving ----

def test_no_operation_hands_work_to_a_thread(loaded_url, monkeypatch):
    """A plain `def` dependency or handler runs in a thread pool: a hop and a wake-up per request
    (it cost the data routes ~0.2 ms each). Every operation runs on the event loop instead."""
    import anyio.to_thread

    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    with h.api_client(loaded_url, version_ttl_seconds=60, cache_entries=0) as client:
        monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
        assert len(statements_per_request(client)) == len(BUDGETS) + 1
    assert hops == []


def test_serving_collects_garbage_less_often_and_restores_the_thresholds(loaded_url):
    import gc

    from app.main import GC_THRESHOLDS

    original = gc.get_threshold()  # another app of this process may be serving already
    gc.set_threshold(555, 7, 7)
    try:
        with h.api_client(loaded_url, version_ttl_seconds=60) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_threshold() == (555, 7, 7)
    finally:
        gc.set_threshold(*original)


def test_valid_data_requests_skip_fastapis_parameter_solving_and_invalid_ones_get_its_422(
        loaded_url, monkeypatch):
    """app/api/direct.py: a data, comparison or reference request whose parameters parse is
    answered without FastAPI's dependency solving; one that does not is FastAPI's, with its
    documented 422."""
    import fastapi.routing

    from app.api.direct import ParamReader

    solved: list[str] = []
    reads: list[bool] = []
    real_solve, real_read = fastapi.routing.solve_dependencies, ParamReader.read

    async def counted_solve(*args, **kwargs):
        solved.append(kwargs["request"].url.path)
        return await real_solve(*args, **kwargs)

    def counted_read(self, query):
        found = real_read(self, query)
        reads.append(found is not None)
        return found

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted_solve)
    monkeypatch.setattr(ParamReader, "read", counted_read)
    with h.api_client(loaded_url, cache_entries=0) as client:
        for path, query in [("/seizures", "drug=fentanyl&group_by=area,fiscal_year"),
                            ("/encounters", "group_by=sector,month&fiscal_year=2022"),
                            ("/overdose-deaths", "group_by=year&format=csv"),
                            ("/comparisons/ports-vs-between", "drug=fentanyl&fiscal_year=2023"),
                            ("/areas", "")]:
            assert client.get(f"{path}?{query}").status_code == 200
        assert (solved, reads) == ([], [True] * 5)
        bad = client.get("/seizures?drug=fentanyl&limit=0")
        assert bad.status_code == 422
        assert bad.json()["error"]["parameter"] == "limit"
        assert (solved, reads) == (["/seizures"], [True] * 5 + [False])
