"""GET / answers a browser with the dashboard and any other client with a JSON index of the API."""

from __future__ import annotations

import pytest
from api_helpers import api_client

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def database_url_module(backend, _databases):
    url = _databases.create()
    yield url
    _databases.drop(url)


@pytest.fixture(scope="module")
def client(database_url_module):
    with api_client(database_url_module) as test_client:
        yield test_client


def test_a_browser_gets_the_dashboard(client):
    response = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Accept" in response.headers["vary"]
    assert '<script type="module" async src="/static/app.js"></script>' in response.text
    assert '<select id="drug" name="drug" disabled></select>' in response.text


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_any_other_client_gets_an_index_built_from_the_openapi_operations(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "Accept" in response.headers["vary"]
    body = response.json()["data"]
    openapi = client.get("/openapi.json").json()
    expected = [{"path": path, "method": method.upper(), "summary": operation["summary"]}
                for path, operations in openapi["paths"].items() for method, operation in operations.items()]
    assert body["endpoints"] == expected
    assert {"path": "/seizures", "method": "GET", "summary": "Drug seizures (CBP)"} in body["endpoints"]
    verify = {"path": "/claims/verify", "method": "POST", "summary": "Check a claim you submit"}
    assert verify in body["endpoints"]
    assert (body["docs"], body["redoc"], body["openapi"]) == ("/docs", "/redoc", "/openapi.json")
    for path in (body["docs"], body["redoc"], body["openapi"]):
        assert client.get(path).status_code == 200, path


def test_the_openapi_document_describes_both_answers_of_get_root_and_hides_the_doc_pages(client):
    openapi = client.get("/openapi.json").json()
    content = openapi["paths"]["/"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/html"}
    live = client.get("/").json()["data"]["endpoints"]
    for endpoint in content["application/json"]["example"]["data"]["endpoints"]:
        assert endpoint in live
    assert "/docs" not in openapi["paths"] and "/redoc" not in openapi["paths"]
