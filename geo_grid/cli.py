"""The ``geo-grid`` command line: a thin translation of arguments into service calls.

Exit codes: 0 success, 1 "found something" (e.g. defects), 2 bad input (one line on stderr naming
the file, field or value), 3 database unavailable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError

from geo_grid.cli_access import audit_app, keys_app, users_app
from geo_grid.cli_cases import cases_app
from geo_grid.cli_checks import register as register_checks
from geo_grid.cli_geocode import register as register_geocode
from geo_grid.cli_maps import register as register_maps
from geo_grid.cli_plans import plan_app
from geo_grid.errors import BadInput, DatabaseUnavailable, GeoGridError

app = typer.Typer(
    name="geo-grid",
    help="Grid-mapping service for urban grassroots governance (网格化管理).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The PostGIS store: local cluster, migrations, dump/restore.", no_args_is_help=True
)
demo_app = typer.Typer(help="The seeded Qixia 栖霞区 demo district.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(plan_app, name="plan")
app.add_typer(cases_app, name="cases")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
register_geocode(app)
register_checks(app)
register_maps(app)

console = Console(stderr=True)
out = Console()


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


# ------------------------------------------------------------------------------------ db
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
        _print_json(info)
    else:
        for k, v in info.items():
            out.print(f"{k}: {v}")
    if info.get("mode") == "local" and not info.get("running"):
        raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """Print the SQLAlchemy URL of the store."""
    from geo_grid.db.session import database_url

    sys.stdout.write(database_url() + "\n")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the Alembic migrations (also done by `db start`)."""
    from geo_grid.db import migrate
    from geo_grid.db.session import get_engine

    engine = get_engine()
    migrate.upgrade(engine)
    out.print(f"schema at revision {migrate.current(engine)}")


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
    from geo_grid.db.session import stored_tables
    from geo_grid.services import database

    if not force and path.is_file():
        tables = stored_tables()
        if tables:
            shown = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
            raise BadInput(
                f"database: not empty ({len(tables)} tables: {shown}); restore into an empty "
                "database or pass --force to replace its contents",
                field="database",
            )
    database.restore(path)
    out.print(f"restored {path}")


# ------------------------------------------------------------------------------------ demo
@demo_app.command("load")
def demo_load(
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 20261125,
    force: Annotated[bool, typer.Option(help="Reload even if a demo is loaded.")] = False,
) -> None:
    """Generate the Qixia demo district and load it (skipped when already loaded)."""
    from geo_grid.services import demo

    result = demo.load_demo(seed, force=force, progress=lambda m: console.print(f"[dim]{m}[/dim]"))
    if not result["loaded"]:
        out.print(f"demo already loaded (seed {result['seed']}): nothing to do")
    elif result.get("reason") == "cases only":
        out.print(f"demo cases loaded: {result['cases']}")
    else:
        out.print(
            f"demo loaded in {result['total_s']} s (generation {result['generate_s']} s): "
            + ", ".join(f"{k} {v}" for k, v in result["grids"].items())
            + f"; {result['buildings']} buildings, {result['addresses']} addresses, "
            + f"{result['cases']} cases"
        )
    accounts = demo.demo_accounts()
    for username, acc in accounts["users"].items():
        out.print(f"demo account {username} ({acc['role']}): password {acc['password']}")
    out.print(f"demo accounts and Open311 key: {accounts['file']} (log in at /login)")


@demo_app.command("generate")
def demo_generate(
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 20261125,
    district: Annotated[
        str, typer.Option(help="District code (one of the districts in data/).")
    ] = "320113",
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for GeoPackages and ground truth.")
    ] = Path("data/ground_truth"),
    layers: Annotated[bool, typer.Option(help="Also write each layer as a GeoPackage.")] = False,
) -> None:
    """Generate a demo district without a database: ground truth (and optionally the layers)."""
    from geo_grid.demo import generate_demo, ground_truth_name, load_district, write_ground_truth

    demo = generate_demo(load_district(district), seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = ground_truth_name(demo)
    write_ground_truth(demo, out_dir / truth)
    if layers:
        from geo_grid.io import write_layer

        for key, grids in demo.grids.items():
            write_layer(grids, out_dir / truth.replace("_defects.json", f"_{key}.gpkg"))
    out.print(f"wrote {out_dir}")


# ------------------------------------------------------------------------------------ layers
@app.command("layers")
def layers_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the layers with their published generation and grid counts."""
    from geo_grid.services import layers

    rows = layers.list_layers()
    if as_json:
        _print_json(rows)
        return
    table = Table("layer", "名称", "generation", "grids", "households", "drafts")
    for r in rows:
        table.add_row(
            r["key"],
            r["name_zh"],
            str(r["generation"]),
            str(r["grids"]),
            str(r["households"]),
            str(r["drafts"]),
        )
    out.print(table)


@app.command("import")
def import_cmd(
    file: Path,
    layer: Annotated[str, typer.Option(help="Layer key, e.g. unified or urban_mgmt.")],
    crs: Annotated[
        str | None, typer.Option(help="4490|4326|gcj02|bd09|EPSG:n when the file has none or lies.")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Attribute encoding, e.g. gbk.")] = None,
    code_field: Annotated[str | None, typer.Option(help="Field holding the grid code.")] = None,
    name_field: Annotated[str | None, typer.Option(help="Field holding the grid name.")] = None,
    households_field: Annotated[str | None, typer.Option(help="Field holding households.")] = None,
    note: Annotated[str | None, typer.Option(help="Note stored with the generation.")] = None,
    invalid: Annotated[
        str,
        typer.Option(
            help="Invalid polygons: refuse the file, make_valid (repair) or keep (department "
            "layers, for `geo-grid check` to report)."
        ),
    ] = "refuse",
) -> None:
    """Import a GeoJSON/GeoPackage/Shapefile/CSV(WKT) as a new draft generation of a layer."""
    from geo_grid.services import layers

    result = layers.import_layer(
        file, layer=layer, crs=crs, encoding=encoding, code_field=code_field,
        name_field=name_field, households_field=households_field, note=note, author="cli",
        invalid=invalid,
    )  # fmt: skip
    out.print(
        f"imported {result['grids']} grids into {layer} generation {result['generation']} (draft)"
    )


@app.command("export")
def export_cmd(
    out_path: Annotated[Path, typer.Argument(metavar="OUT")],
    layer: Annotated[str, typer.Option(help="Layer key.")],
    generation: Annotated[
        int | None, typer.Option(help="Generation number (default: published).")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="gpkg|geojson|shp|csv (default: from OUT).")
    ] = None,
) -> None:
    """Export a layer's grids to a file QGIS opens (GPKG in EPSG:4490)."""
    from geo_grid.services import layers

    result = layers.export_layer(out_path, layer=layer, generation=generation, fmt=fmt)
    out.print(
        f"exported {result['grids']} grids of {layer} generation {result['generation']} to {result['path']}"
    )


@app.command("publish")
def publish_cmd(
    layer: Annotated[str, typer.Option(help="Layer key.")],
    generation: Annotated[int, typer.Option(help="Draft generation number to publish.")],
) -> None:
    """Publish a draft generation (the current one is retired and kept)."""
    from geo_grid.services import layers

    layers.publish(layer, generation)
    out.print(f"published {layer} generation {generation}")


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


# ------------------------------------------------------------------------------------ entry
def _fail(message: str, code: int) -> int:
    """One line on stderr, never wrapped: scripts grep it and humans read it."""
    sys.stderr.write("error: " + " ".join(str(message).split()) + "\n")
    return code


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: map domain errors to exit codes and one-line messages."""
    try:
        result = app(args=argv, standalone_mode=False)
    except DatabaseUnavailable as exc:
        return _fail(exc.message, 3)
    except OperationalError as exc:  # the server went away or never answered
        return _fail(f"database unavailable: {exc.orig or 'unreachable'}", 3)
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


if __name__ == "__main__":
    sys.exit(main())
