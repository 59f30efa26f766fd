"""GET /revisions over CBP's real Southwest revisions, as_of=newest over the whole catalog, and
GET /status. Expected figures come from the files through the csv module."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import api_helpers as h
import official_csv as oracle
from sqlalchemy import insert
from test_vintages import strip_vintage

from app.datasets import DATASETS
from app.ingest.load import ingest_paths
from app.models import SyncState

SW_OLD, SW_NEW = h.SW_FILES


def sw_cells(path: Path) -> dict[tuple, int]:
    """(month, component, demographic, citizenship, title, type) -> encounters, as the API labels
    them."""
    month_of = oracle.cbp_month("Fiscal Year")
    return {(f"{month_of(r):%Y-%m}", h.COMPONENT[r["Component"]],
             h.DEMOGRAPHIC.get(r["Demographic"], r["Demographic"]),
             h.catch_all(r["Citizenship Grouping"].upper(), "cbp-sw-encounters"),
             r["Title of Authority"], r["Encounter Type"]):
            int(float(r["Encounter Count"])) for r in oracle._read(path)}


def test_revisions_list_every_changed_southwest_cell(database_factory, data_dir: Path) -> None:
    """The fy22-fy25 Southwest file revised the twelve months it shares with fy19-fy22: every
    cell whose count changed, appeared or disappeared is listed with both values, and no other."""
    engine = database_factory.engine()
    old_id = ingest_paths(engine, [str(data_dir / SW_OLD)])[0].release_id
    new = ingest_paths(engine, [str(data_dir / SW_NEW)])[0]
    assert new.revised == 12
    assert new.summary().endswith(f"(what changed: /revisions?dataset=encounters&release="
                                  f"{new.release_id})")
    old, fresh = sw_cells(data_dir / SW_OLD), sw_cells(data_dir / SW_NEW)
    months = {k[0] for k in old} & {k[0] for k in fresh}
    expected = set()
    for key in {k for k in (*old, *fresh) if k[0] in months}:
        before, after = old.get(key), fresh.get(key)
        if before == after:
            continue
        change = "revised" if before is not None and after is not None else (
            "appeared" if before is None else "disappeared")
        difference = after - before if change == "revised" else None
        expected.add((*key, before, after, difference, change))
    # CBP relabelled FY2022's Title 42 cells (Apprehensions -> Expulsions): cells moved.
    assert {e[-1] for e in expected} == {"appeared", "disappeared"}
    url = engine.url.render_as_string(hide_password=False)
    with h.api_client(url) as client:
        body = h.get_json(client, "/revisions", {"dataset": "encounters", "limit": "10000"})
        found = {(r["period"], r["component"], r["demographic"], r["citizenship"],
                  r["title_of_authority"], r["encounter_type"], r["older_value"],
                  r["newer_value"], r["difference"], r["change"]) for r in body["data"]}
        assert len(body["data"]) == len(expected) == body["meta"]["total_rows"]
        assert found == expected
        assert {(r["older_release"], r["newer_release"], r["measure"], r["source"])
                for r in body["data"]} == {(old_id, new.release_id, "encounter_count",
                                           "cbp-sw-encounters")}
        assert body["meta"]["compared"] == [{"source": "cbp-sw-encounters",
                                             "older_release": old_id,
                                             "newer_release": new.release_id,
                                             "periods": sorted(months)}]
        # Filters as on /encounters, the release filter, CSV and the vintage before the revision.
        one = h.get_json(client, "/revisions", {"dataset": "encounters", "month": "2022-03",
                                                "citizenship": "mexico",
                                                "release": str(new.release_id)})
        assert {(r["period"], r["citizenship"]) for r in one["data"]} == {("2022-03", "MEXICO")}
        assert len(one["data"]) == len([e for e in expected
                                        if e[0] == "2022-03" and e[3] == "MEXICO"])
        csv = client.get("/revisions", params={"dataset": "encounters", "format": "csv",
                                               "limit": "10000"})
        assert len(csv.text.strip().splitlines()) == len(expected) + 1
        then = h.get_json(client, "/revisions", {"dataset": "encounters", "as_of": str(old_id)})
        assert then["data"] == [] and then["meta"]["vintage"]["release_id"] == old_id
        for params, parameter in (({"dataset": "encounters", "release": "999"}, "release"),
                                  ({"dataset": "encounters", "drug": "fentanyl"}, "drug"),
                                  ({"dataset": "rainfall"}, "dataset"), ({}, "dataset")):
            response = client.get("/revisions", params=params)
            assert response.status_code == 422, params
            assert parameter in response.text


PROBE_GRAINS = {"month": "fiscal_year", "year": "year"}


def test_as_of_newest_equals_the_current_answer_over_the_catalog(loaded_url: str) -> None:
    """For every dataset and every dimension (and comparisons, claims): the answer as of the
    newest release is the current answer, to the last digit."""
    with h.api_client(loaded_url) as client:
        newest = max(r["id"] for r in h.get_json(client, "/releases")["data"])
        probes = ["/comparisons/seizures-vs-encounters?drug=fentanyl&fiscal_year=2021"
                  "&groups=CA,AZ;NM,TX", "/comparisons/change?dataset=overdose_deaths"
                  "&before=2020&after=2021", "/claims", "/claims/encounters-four-sectors"]
        for dataset in DATASETS.values():
            grain = PROBE_GRAINS[dataset.time.unit]
            for dim in dataset.dimensions:
                for family in dataset.families if len(dataset.families) > 1 else [None]:
                    if family is not None and dim.name not in family.dimensions:
                        continue
                    source = f"&source={family.key}" if family else ""
                    probes.append(f"{dataset.path}?group_by={dim.name},{grain}&limit=10000"
                                  f"{source}")
        checked: set[str] = set()
        for probe in probes:
            current = client.get(probe)
            pinned_url = f"{probe}{'&' if '?' in probe else '?'}as_of={newest}"
            if current.status_code == 422:  # a family not loaded, or a dimension it lacks
                assert client.get(pinned_url).status_code == 422
                continue
            assert current.status_code == 200, probe
            pinned = h.get_json(client, pinned_url)
            now, then = strip_vintage(pinned, newest), strip_vintage(current.json(), newest)
            assert now == then, probe
            checked.add(probe.split("?")[0])
        assert checked >= {*(d.path for d in DATASETS.values()), "/claims",
                           "/comparisons/change", "/comparisons/seizures-vs-encounters"}


def test_status_says_how_far_behind_each_family_is(loaded_url: str, data_dir: Path) -> None:
    """Per family: the newest release, the last month it covers, the manifest's cadence, months
    behind today; sync never ran here, so its fields are empty."""
    today = dt.datetime.now(dt.UTC).date()
    month_of = oracle.cbp_month("FY")
    last = max(month_of(r) for name in h.SEIZURE_FILES for r in oracle._read(data_dir / name))
    behind = (today.year - last.year) * 12 + today.month - last.month
    with h.api_client(loaded_url) as client:
        response = client.get("/status")
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        rows = {r["family"]: r for r in response.json()["data"]}
        newest_seizures = max(r["id"] for r in h.get_json(client, "/releases")["data"]
                              if r["source"] == "cbp-seizures")
    seizures = rows["cbp-seizures"]
    assert seizures["through"] == f"{last:%Y-%m}"
    assert seizures["newest_release"]["id"] == newest_seizures
    assert (seizures["cadence"], seizures["cadence_days"]) == ("monthly", 31)
    assert (seizures["behind"], seizures["behind_unit"]) == (behind, "months")
    assert seizures["summary"] == f"cbp-seizures: through {last:%Y-%m}, monthly, {behind} months behind"
    assert seizures["sync"]["last_outcome"] is None and seizures["sync"]["enabled"] is True
    assert rows["cbp-aor-encounters"]["newest_release"] is None
    deaths = rows["cdc-us-deaths"]
    assert deaths["behind_unit"] == "years" and deaths["sync"]["enabled"] is False
    assert deaths["through"] == "2021"


def test_status_reports_what_sync_recorded(database_factory, data_dir: Path) -> None:
    """A sync_state row (as sync writes it after a failed pass) shows in /status: outcome,
    when it last succeeded and failed, and why."""
    engine = database_factory.engine()
    ingest_paths(engine, [str(data_dir / h.SEIZURE_FILES[0])])
    succeeded = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    failed = dt.datetime(2026, 2, 3, 4, 5, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(insert(SyncState).values(
            family="cbp-seizures", dataset="seizures", page_url="http://agency.test/page",
            cadence="every 2 weeks", cadence_days=14, last_outcome="error",
            last_attempt_at=failed, last_success_at=succeeded, last_failure_at=failed,
            last_error="no link on http://agency.test/page matches"))
    with h.api_client(engine.url.render_as_string(hide_password=False)) as client:
        rows = {r["family"]: r for r in h.get_json(client, "/status")["data"]}
    seizures = rows["cbp-seizures"]
    assert (seizures["cadence"], seizures["cadence_days"]) == ("every 2 weeks", 14)
    assert seizures["through"] == "2022-09"
    sync = seizures["sync"]
    assert sync["last_outcome"] == "error"
    assert sync["last_error"] == "no link on http://agency.test/page matches"
    assert sync["last_success_at"].startswith("2026-01-02T03:04")
    assert sync["last_failure_at"].startswith("2026-02-03T04:05")


def test_seed_snapshot_answers_every_vintage_as_the_full_ingest(database_factory,
                                                                loaded_url: str) -> None:
    """The shipped snapshot keeps superseded rows: as of each release it answers as the database
    that ingested the official files."""
    from app.ingest.snapshot import load
    from app.paths import project_dir

    engine = database_factory.engine()
    load(engine, project_dir("seed") / "snapshot")
    probes = ["/seizures?drug=fentanyl&group_by=fiscal_year",
              "/encounters?region=southwest&group_by=fiscal_year,component",
              "/overdose-deaths?group_by=year", "/revisions?dataset=encounters&limit=10000"]
    with h.api_client(engine.url.render_as_string(hide_password=False)) as seeded, \
            h.api_client(loaded_url) as ingested:
        releases = h.get_json(ingested, "/releases")["data"]
        assert [(r["id"], r["sha256"]) for r in h.get_json(seeded, "/releases")["data"]] == \
            [(r["id"], r["sha256"]) for r in releases]
        # The first vintage, and each where a family gets a newer release (its answers change).
        ordered = sorted(releases, key=lambda r: r["id"])
        seen: set[str] = set()
        vintages = [ordered[0]["id"]]
        for r in ordered:
            if r["source"] in seen:
                vintages.append(r["id"])
            seen.add(r["source"])
        assert len(vintages) >= 4
        for release in vintages:
            for probe in probes:
                url = f"{probe}&as_of={release}"
                a, b = seeded.get(url), ingested.get(url)
                assert a.status_code == b.status_code, url
                if a.status_code != 200:
                    continue
                assert a.json()["data"] == b.json()["data"], url
                assert [r["sha256"] for r in a.json()["meta"]["releases"]] == \
                    [r["sha256"] for r in b.json()["meta"]["releases"]], url
