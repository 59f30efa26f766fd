"""A JSON document is written by orjson's fast path when every key is text, and by its option
for other keys (written as their text) otherwise: the same bytes either way, and a value JSON
cannot hold is still refused."""

from __future__ import annotations

import datetime as dt
import json

import orjson
import pytest

from app.render.formats import json_body


@pytest.mark.parametrize("data, meta", [
    ([{"area": "tucson-sector", "fiscal_year": 2021, "quantity_lbs": 1.5, "events": None}],
     {"period": {"first_month": "2020-10"}, "releases": []}),
    ({"by_year": {2021: 3, 2022: 4}, "by_month": {dt.date(2021, 1, 1): 1}}, None),
    ([{"a": {1.5: "x", True: "y", None: "z"}}], {"n": 0}),
])
def test_json_body_writes_what_the_option_writes(data, meta):
    document = {"data": data, "meta": meta} if meta is not None else data
    expected = orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)
    assert json_body(data, meta) == expected
    assert json.loads(json_body(data, meta)) == json.loads(expected)


def test_json_body_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError):
        json_body([{"a": object()}], {"n": 0})
    with pytest.raises(TypeError):
        json_body({2**70: 1})
