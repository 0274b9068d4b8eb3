"""``geo-grid layers``, ``import``, ``export`` and ``publish``: grid layers and their generations,
thin over :mod:`geo_grid.services.layers`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geo_grid.cli._common import DistrictOpt, district_code, district_codes, out, print_json

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``layers``, ``import``, ``export`` and ``publish`` to the ``geo-grid`` app."""
    app.command("layers")(layers_cmd)
    app.command("import")(import_cmd)
    app.command("export")(export_cmd)
    app.command("publish")(publish_cmd)


def layers_cmd(
    as_json: Annotated[bool, typer.Option("--json")] = False, district: DistrictOpt = None
) -> None:
    """List the layers of each district (or of --district) with their published generation and
    grid counts."""
    from geo_grid.services import layers

    rows = layers.list_layers(district_codes(district))
    if as_json:
        print_json(rows)
        return
    table = Table("district", "layer", "名称", "generation", "grids", "households", "drafts")
    for r in rows:
        table.add_row(
            str(r["district_code"] or "-"),
            r["key"],
            r["name_zh"],
            str(r["generation"]),
            str(r["grids"]),
            str(r["households"]),
            str(r["drafts"]),
        )
    out.print(table)


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
    district: DistrictOpt = None,
) -> None:
    """Import a GeoJSON/GeoPackage/Shapefile/CSV(WKT) as a new draft generation of a layer in a
    district."""
    from geo_grid.services import layers

    result = layers.import_layer(
        file, layer=layer, district=district, crs=crs, encoding=encoding, code_field=code_field,
        name_field=name_field, households_field=households_field, note=note, author="cli",
        invalid=invalid, upload_limits=False,  # the operator's own file: no upload limits
    )  # fmt: skip
    out.print(
        f"imported {result['grids']} grids into {layer} generation {result['generation']} "
        f"(draft) of district {result['district_code']}"
    )


def export_cmd(
    out_path: Annotated[Path, typer.Argument(metavar="OUT")],
    layer: Annotated[str, typer.Option(help="Layer key.")],
    generation: Annotated[
        int | None, typer.Option(help="Generation number (default: published).")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="gpkg|geojson|shp|csv (default: from OUT).")
    ] = None,
    district: DistrictOpt = None,
) -> None:
    """Export a district's grids of a layer to a file QGIS opens (GPKG in EPSG:4490)."""
    from geo_grid.services import layers

    result = layers.export_layer(
        out_path, layer=layer, district=district_code(district), generation=generation, fmt=fmt
    )
    out.print(
        f"exported {result['grids']} grids of {layer} generation {result['generation']} to {result['path']}"
    )


def publish_cmd(
    layer: Annotated[str, typer.Option(help="Layer key.")],
    generation: Annotated[int, typer.Option(help="Draft generation number to publish.")],
    district: DistrictOpt = None,
) -> None:
    """Publish a district's draft generation (its current one is retired and kept)."""
    from geo_grid.services import layers

    result = layers.publish(layer, generation, district=district_code(district))
    out.print(f"published {layer} generation {generation} of district {result['district_code']}")
