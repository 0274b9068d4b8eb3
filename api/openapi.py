"""OpenAPI fragments for routes that parse their body themselves (file uploads, JSON or a form),
and the one correction FastAPI's document needs: errors are JSON on every route.

FastAPI documents a body from the route's parameters; routes that read ``request.form()`` to cap
an upload or accept two content types declare it with :func:`request_body` instead, so the three
of them describe their forms the same way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["errors_as_json", "request_body"]


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


def errors_as_json(document: dict[str, Any]) -> dict[str, Any]:
    """Declare error answers as ``application/json`` on routes whose success is HTML.

    FastAPI files a route's extra responses under the route's own media type, so the map pages
    and the login form documented their JSON errors as ``text/html``. Changed in place; returned.

    >>> doc = {"paths": {"/map": {"get": {"responses": {
    ...     "200": {"content": {"text/html": {"schema": {"type": "string"}}}},
    ...     "404": {"content": {"text/html": {"schema": {"$ref": "#/x/ErrorBody"}}}}}}}}}
    >>> responses = errors_as_json(doc)["paths"]["/map"]["get"]["responses"]
    >>> list(responses["404"]["content"]), list(responses["200"]["content"])
    (['application/json'], ['text/html'])
    """
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.startswith(("4", "5")) and "text/html" in content:
                    content["application/json"] = content.pop("text/html")
    return document
