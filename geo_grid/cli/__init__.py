"""The ``geo-grid`` command line: a thin translation of arguments into service calls.

This module is the table of contents: the app, its command groups (one module each: :mod:`.db`,
:mod:`.demo`, :mod:`.layers`, :mod:`.checks`, :mod:`.geocode`, :mod:`.maps`, :mod:`.plans`,
:mod:`.cases`, :mod:`.access`, :mod:`.districts`, :mod:`.jobs`) and :func:`main`, the console-script entry
(``geo-grid = "geo_grid.cli:main"``) that maps domain errors to exit codes.

Exit codes: 0 success, 1 "found something" (e.g. defects), 2 bad input (one line on stderr naming
the file, field or value), 3 database unavailable.
"""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from geo_grid.cli import checks, districts, geocode, jobs, layers, maps
from geo_grid.cli.access import audit_app, keys_app, users_app
from geo_grid.cli.cases import cases_app
from geo_grid.cli.db import db_app
from geo_grid.cli.demo import demo_app
from geo_grid.cli.plans import plan_app
from geo_grid.errors import DatabaseUnavailable, GeoGridError

__all__ = ["app", "main"]

app = typer.Typer(
    name="geo-grid",
    help="Grid-mapping service for urban grassroots governance (网格化管理).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(plan_app, name="plan")
app.add_typer(cases_app, name="cases")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
geocode.register(app)
checks.register(app)
maps.register(app)
layers.register(app)
districts.register(app)
jobs.register(app)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000 or $PORT).")] = None,
) -> None:
    """Serve the API and the maps."""
    import os

    import uvicorn

    from geo_grid.settings import get_settings

    settings = get_settings()
    port = port or int(os.environ.get("PORT") or settings.port)
    uvicorn.run("api.main:app", host=host or settings.host, port=port, log_level="info")


def _fail(message: str, code: int) -> int:
    """One line on stderr, never wrapped: scripts grep it and humans read it."""
    sys.stderr.write("error: " + " ".join(str(message).split()) + "\n")
    return code


def _unavailable(exc: DatabaseUnavailable) -> str:
    """The message and, when the database went away, the driver's reason in one line."""
    from geo_grid.services.database import error_line

    reason = error_line(exc)
    return exc.message if reason == exc.message else f"{exc.message}: {reason}"


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: map domain errors to exit codes and one-line messages."""
    try:
        result = app(args=argv, standalone_mode=False)
    except DatabaseUnavailable as exc:  # none configured or started, or it went away
        return _fail(_unavailable(exc), 3)
    except GeoGridError as exc:
        return _fail(exc.message, 2)
    except click.exceptions.Abort:
        return 1
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    return result if isinstance(result, int) else 0
