"""Checks an HTTP response against the app's own /openapi.json: its status and content type must be
documented for the operation, and its body must validate against the documented schema (JSON
Schema 2020-12, `$ref`s resolved inside the document; jsonschema-rs, fast enough to check every
answer the suite sees, 10,000 rows in milliseconds). NDJSON lines are checked as rows of the
operation's JSON document."""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any

import httpx
import jsonschema_rs


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _resolve(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


class Contract:
    """One OpenAPI document, and validators for its response schemas (built once each)."""

    def __init__(self, openapi: dict[str, Any]):
        self.openapi = openapi
        self._validators: dict[str, Any] = {}
        self.checked = 0

    @cached_property
    def _templates(self) -> list[tuple[re.Pattern[str], str]]:
        out = []
        for path in self.openapi["paths"]:
            pattern = re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(path))
            out.append((re.compile(f"^{pattern}$"), path))
        return out

    def template(self, path: str) -> str | None:
        """The documented path template a request path matches."""
        if path in self.openapi["paths"]:
            return path
        return next((t for pattern, t in self._templates if pattern.match(path)), None)

    def validator(self, pointer: str) -> Any:
        """A validator of the schema at `pointer` (its `$ref`s resolve in the components)."""
        found = self._validators.get(pointer)
        if found is None:
            schema = {**_resolve(self.openapi, pointer), "components": self.openapi["components"]}
            found = self._validators[pointer] = jsonschema_rs.Draft202012Validator(schema)
        return found

    def errors(self, pointer: str, instance: Any) -> list[str]:
        """Where and how `instance` breaks the schema at `pointer` (the first five)."""
        return [f"{'/'.join(map(str, e.instance_path)) or '(body)'}: {e.message[:300]}"
                for e in self.validator(pointer).iter_errors(instance)][:5]

    def schema_pointer(self, method: str, template: str, status: str, media: str) -> str:
        return "/" + _pointer("paths", template, method, "responses", status, "content", media,
                              "schema")

    def component(self, name: str) -> dict[str, Any]:
        return self.openapi["components"]["schemas"][name]

    def row_pointer(self, method: str, template: str) -> str | None:
        """The schema of one row of the operation's JSON 200 document (for NDJSON lines)."""
        content = self.openapi["paths"][template][method]["responses"]["200"]["content"]
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        name = ref.rpartition("/")[2]
        if not name:
            return None
        return "/" + _pointer("components", "schemas", name, "properties", "data", "items")

    def problems(self, response: httpx.Response) -> list[str]:
        """What in `response` the document does not describe (empty: it conforms)."""
        request = response.request
        method = request.method.lower()
        where = f"{request.method} {request.url.path}?{request.url.query.decode()[:200]} -> " \
                f"{response.status_code}"
        template = self.template(request.url.path)
        if template is None or method not in self.openapi["paths"][template]:
            return []  # not an operation of the API (a static file, an unknown path)
        responses = self.openapi["paths"][template][method]["responses"]
        status = str(response.status_code)
        if status not in responses:
            return [f"{where}: status {status} is not documented ({sorted(responses)})"]
        content = responses[status].get("content")
        if not content:
            return [] if not response.content else [f"{where}: a body where none is documented"]
        media = media_type(response)
        if media not in content:
            return [f"{where}: content type {media!r} is not documented ({sorted(content)})"]
        self.checked += 1
        if media == "application/json":
            return self._errors(self.schema_pointer(method, template, status, media),
                                response.json(), where)
        if media == "application/x-ndjson" and status == "200":
            row = self.row_pointer(method, template)
            out: list[str] = []
            for line in response.text.splitlines():
                out += self._errors(row, json.loads(line), where) if row else []
                if out:
                    break
            return out
        return []

    def _errors(self, pointer: str, instance: Any, where: str) -> list[str]:
        return [f"{where}: {error}" for error in self.errors(pointer, instance)]
