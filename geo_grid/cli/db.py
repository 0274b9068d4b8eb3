"""``geo-grid db …``: the PostGIS store (local cluster, migrations, dump/restore), thin over
:mod:`geo_grid.services.database`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from geo_grid.cli._common import out, print_json

__all__ = ["db_app"]

db_app = typer.Typer(
    help="The PostGIS store: local cluster, migrations, dump/restore.", no_args_is_help=True
)


@db_app.command("start")
def db_start() -> None:
    """Start the local cluster (or use GEO_GRID_DATABASE_URL) and migrate to the latest schema."""
    from geo_grid.services import database

    url = database.start()
    sys.stdout.write(f"database ready: {url}\n")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the local cluster."""
    from geo_grid.services import database

    database.stop()
    out.print("local database stopped")


@db_app.command("status")
def db_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Say whether the database is running and where."""
    from geo_grid.services import database

    info = database.status()
    if as_json:
        print_json(info)
    else:
        for k, v in info.items():
            out.print(f"{k}: {v}")
    if info.get("mode") == "local" and not info.get("running"):
        raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """Print the SQLAlchemy URL of the store."""
    from geo_grid.services import database

    sys.stdout.write(database.url() + "\n")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the Alembic migrations (also done by `db start`)."""
    from geo_grid.services import database

    out.print(f"schema at revision {database.migrate_to_head()}")


@db_app.command("dump")
def db_dump(path: Path) -> None:
    """Write a pg_dump (custom format) of the store."""
    from geo_grid.services import database

    database.dump(path)
    out.print(f"dumped to {path}")


@db_app.command("restore")
def db_restore(
    path: Path,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the contents of a database that already holds tables (the dump's "
            "objects are dropped and recreated, in one transaction).",
        ),
    ] = False,
) -> None:
    """Restore a dump written by `db dump` into an empty database (--force: replace a store)."""
    from geo_grid.services import database

    database.restore(path, force=force)
    out.print(f"restored {path}")
