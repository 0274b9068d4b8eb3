"""OpenAPI fragments for routes that parse their body themselves (file uploads, JSON or a form).

FastAPI documents a body from the route's parameters; routes that read ``request.form()`` to cap
an upload or accept two content types declare it with :func:`request_body` instead, so the three
of them describe their forms the same way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["request_body"]


def request_body(
    form: dict[str, dict[str, Any]] | None = None,
    *,
    required: tuple[str, ...] = ("file",),
    json: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` of a required body: a multipart form with ``form`` fields (``required``
    among them) and/or a JSON body ``json`` (``{"schema": ..., "example": ...}``).

    >>> body = request_body({"file": {"type": "string", "format": "binary"}})
    >>> body["requestBody"]["content"]["multipart/form-data"]["schema"]["required"]
    ['file']
    """
    content: dict[str, Any] = {}
    if json is not None:
        content["application/json"] = json
    if form is not None:
        content["multipart/form-data"] = {
            "schema": {"type": "object", "required": list(required), "properties": form}
        }
    return {"requestBody": {"required": True, "content": content}}
