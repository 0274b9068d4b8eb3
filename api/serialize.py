"""Large answers written to JSON where their work ran, not on the event loop.

For a plain (``def``) route FastAPI validates the returned value against ``response_model`` in the
thread pool, but writes the JSON afterwards on the event loop, in one call that holds it: 60 ms
for the 3.6 MB answer of a 10,000-address batch geocode on the test machine, during which no other
request moved. Routes whose answers grow with the input (batch geocoding, checks and merges,
indicators, plan edits) have them validated and written by :func:`json_bytes` in the worker
process that computed them (:func:`api.workers.run_json`); their ``response_model`` still
documents the answer in OpenAPI, and the value is validated against it as FastAPI would.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from fastapi.responses import Response
from pydantic import TypeAdapter

__all__ = ["json_bytes", "json_response", "plain_json_bytes"]


@lru_cache(maxsize=64)
def _adapter(model: Any) -> TypeAdapter:
    return TypeAdapter(model)


def json_bytes(model: Any, content: Any) -> bytes:
    """``content`` validated as ``model`` and serialized (by alias, as FastAPI does).

    >>> from pydantic import BaseModel
    >>> class Out(BaseModel):
    ...     n: int
    >>> json_bytes(Out, {"n": "3"})
    b'{"n":3}'
    """
    adapter = _adapter(model)
    return adapter.dump_json(adapter.validate_python(content), by_alias=True)


def plain_json_bytes(content: Any) -> bytes:
    """Plain JSON values (dicts, lists, strings, numbers: a GeoJSON answer) written as
    :class:`~fastapi.responses.JSONResponse` writes them, but wherever this is called.

    >>> plain_json_bytes({"n": [1, 2.5], "ok": True}), plain_json_bytes(["网格"]).decode()
    (b'{"n":[1,2.5],"ok":true}', '["网格"]')
    """
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def json_response(body: bytes, *, status_code: int = 200) -> Response:
    """JSON already written, as a response."""
    return Response(body, status_code=status_code, media_type="application/json")
