"""Large answers written to JSON in the route's thread, not on the event loop.

For a plain (``def``) route FastAPI validates the returned value against ``response_model`` in the
thread pool, but writes the JSON afterwards on the event loop, in one call that holds it: 60 ms
for the 3.6 MB answer of a 10,000-address batch geocode on the test machine, during which no other
request moved. Routes whose answers grow with the input (batch geocoding, checks and merges,
indicators, plan edits) return :func:`model_response` instead; their ``response_model`` still
documents the answer in OpenAPI, and the value is validated against it exactly as before.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi.responses import Response
from pydantic import TypeAdapter

__all__ = ["model_response"]


@lru_cache(maxsize=64)
def _adapter(model: Any) -> TypeAdapter:
    return TypeAdapter(model)


def model_response(model: Any, content: Any, *, status_code: int = 200) -> Response:
    """``content`` validated as ``model`` and serialized (by alias, as FastAPI does) right here.

    >>> from pydantic import BaseModel
    >>> class Out(BaseModel):
    ...     n: int
    >>> model_response(Out, {"n": "3"}).body
    b'{"n":3}'
    """
    adapter = _adapter(model)
    body = adapter.dump_json(adapter.validate_python(content), by_alias=True)
    return Response(body, status_code=status_code, media_type="application/json")
