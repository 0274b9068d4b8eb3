"""The OpenAPI document: how to log in, who may call each route, what each route does, and
errors as JSON on every route.

:func:`document` replaces the app's ``openapi()`` with one that adds to FastAPI's document

- the three ways to present credentials (:data:`SCHEMES`, declared with FastAPI's own security
  classes): the OAuth2 password flow against ``POST /auth/token``, a Bearer token pasted in, and
  an ``X-API-Key`` header; every route that :mod:`api.policy` does not declare public lists them
  as alternatives, so Swagger UI's Authorize button fills in the header and "Try it out" works;
- a summary and a description from each route's docstring: its first paragraph is the summary,
  the rest the description (FastAPI would otherwise title a route after its function's name);
- errors declared as ``application/json`` on routes whose success is HTML (:func:`errors_as_json`);
- what a person's browser gets on a page route (:mod:`api.pages`): 403, 404 and 422 as a Chinese
  page besides the JSON error, and without a session a 303 to the login form (:func:`_page`).

FastAPI documents a body from the route's parameters; routes that read ``request.form()`` to cap
an upload or accept two content types declare it with :func:`request_body` instead, so the three
of them describe their forms the same way.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.security import APIKeyHeader, HTTPBearer, OAuth2PasswordBearer
from fastapi.security.base import SecurityBase

from api.pages import PAGE_ERRORS, is_page_path
from api.policy import POLICY, PUBLIC, resolve

__all__ = ["SCHEMES", "document", "errors_as_json", "request_body"]

#: How a caller may present credentials (see :mod:`api.auth`), as FastAPI security objects: only
#: their OpenAPI models are used here (``api.auth`` resolves the credentials for every route).
SCHEMES: tuple[SecurityBase, ...] = (
    OAuth2PasswordBearer(
        tokenUrl="/auth/token", scheme_name="OAuth2",
        description="用户名和密码换取令牌 (OAuth2 password flow, POST /auth/token)",
    ),
    HTTPBearer(
        scheme_name="BearerToken",
        description="粘贴 POST /auth/token 返回的 access_token (a JWT)",
    ),
    APIKeyHeader(
        name="X-API-Key", scheme_name="ApiKey",
        description="系统接入密钥 (geo-grid keys add NAME); Open311 clients may send api_key instead",
    ),
)  # fmt: skip
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _split_doc(text: str) -> tuple[str, str]:
    r"""(summary, description) of a docstring: the first paragraph on one line, then the rest.

    >>> _split_doc("Who I am.\n\nMore about it,\nover two lines.")
    ('Who I am.', 'More about it,\nover two lines.')
    """
    first, _, rest = text.strip().partition("\n\n")
    return " ".join(first.split()), rest.strip()


def _decorate(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the security schemes, each operation's requirement, its summary and description."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        s.scheme_name: jsonable_encoder(s.model, by_alias=True, exclude_none=True) for s in SCHEMES
    }
    anyone_of = [{s.scheme_name: []} for s in SCHEMES]
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            roles = POLICY.get(f"{method.upper()} {path}")
            public = roles is None or resolve(roles) is PUBLIC
            if not public:
                operation["security"] = anyone_of
            if is_page_path(path):
                _page(operation, login=method == "get" and not public)
            doc = operation.get("description")
            if doc:
                summary, rest = _split_doc(doc)
                operation["summary"], operation["description"] = summary, rest or summary
    return schema


_HTML = {"text/html": {"schema": {"type": "string"}}}


def _page(operation: dict[str, Any], *, login: bool) -> None:
    """A page route's answers to a person: its refusals as Chinese pages (``text/html`` when the
    request accepts it, :func:`api.pages.wants_page`), and, for a page that needs a session,
    ``303`` to the login form without one. Its errors' JSON is declared by the app."""
    responses = operation.setdefault("responses", {})
    for status in sorted(PAGE_ERRORS):
        responses.setdefault(str(status), {"description": "Refused"}).setdefault("content", {})
        responses[str(status)]["content"].update(_HTML)
    if login:
        responses["303"] = {"description": "No session: to the login form, and back after it"}


def document(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the decorated document (built once, like FastAPI's own)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _decorate(errors_as_json(plain()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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


#: Media types of routes' successes that their errors are not sent in (they are JSON)
_NOT_ERRORS = ("text/html", "application/geo+json")


def _is_error_body(media: dict[str, Any]) -> bool:
    return media.get("schema", {}).get("$ref", "").endswith("/ErrorBody")


def errors_as_json(document: dict[str, Any]) -> dict[str, Any]:
    """Declare error answers as ``application/json`` on routes whose success is HTML or GeoJSON.

    FastAPI files a route's extra responses under the route's own media type, so the map pages
    and the login form documented their JSON errors as ``text/html``, the GeoJSON routes as
    ``application/geo+json``. Only the error body is moved: an answer a route itself declares
    as HTML (the login form shown again with a 401) stays. Changed in place; returned.

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
                for media in _NOT_ERRORS:
                    error = status.startswith(("4", "5"))
                    if error and media in content and _is_error_body(content[media]):
                        content["application/json"] = content.pop(media)
    return document
