"""The OpenAPI document shows no bare entry: every route has a summary and a description.

Both come from the route's docstring (:func:`api.openapi.document`): its first paragraph is the
summary, the rest the description. A route without one gets FastAPI's fallback summary (its
function's name in title case) and no description; a one-paragraph docstring gets the summary
repeated as its description. The document is the app's own (``app.openapi()``): no server and no
database are needed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api import openapi
from api.policy import routes


def undocumented(app: FastAPI) -> list[str]:
    """``METHOD path`` of every operation of ``app``'s document without its own summary and
    description."""
    fallbacks = {endpoint.__name__.replace("_", " ").title() for *_, endpoint in routes(app)}
    doc: dict[str, Any] = app.openapi()
    return [
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if not op.get("summary")
        or op["summary"] in fallbacks
        or not op.get("description")
        or op["description"] == op["summary"]
    ]


def test_every_route_has_a_summary_and_a_description() -> None:
    from api.main import app

    operations = sum(len(item) for item in app.openapi()["paths"].values())
    assert operations >= 70  # the walk saw the whole API
    assert undocumented(app) == []


def test_a_route_without_its_own_description_is_found() -> None:
    app = FastAPI()

    @app.get("/documented")
    def documented() -> dict:
        """What it answers.

        Why and how."""
        return {}

    @app.get("/bare")
    def bare() -> dict:
        return {}

    @app.post("/summary-only")
    def summary_only() -> dict:
        """Only a summary."""
        return {}

    openapi.document(app)
    assert undocumented(app) == ["GET /bare", "POST /summary-only"]
