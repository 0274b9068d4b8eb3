"""``geo-grid geocode``, ``locate`` and ``gazetteer load``: addresses and points to grids.

Kept apart from :mod:`geo_grid.cli` so that file stays a table of contents; :func:`register` adds
the commands to the main app. Exit codes follow the CLI's: 0 an answer, 1 an honest "no" (an address
not matched with confidence, a point outside the district), 2 bad input, 3 no database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo_grid.cli._common import DistrictOpt, district_codes
from geo_grid.cli._common import err as _err
from geo_grid.cli._common import out as _out
from geo_grid.cli._common import print_json as _json
from geo_grid.errors import BadInput

__all__ = ["gazetteer_app", "gazetteer_load_cmd", "geocode_cmd", "locate_cmd", "register"]

_CRS_HELP = "Coordinate system of LON LAT: wgs84|cgcs2000|gcj02|bd09."


gazetteer_app = typer.Typer(
    help="The national gazetteer (division names and codes of all China).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``geocode``, ``locate`` and ``gazetteer`` to the ``geo-grid`` app."""
    app.command("geocode")(geocode_cmd)
    app.command("locate")(locate_cmd)
    app.add_typer(gazetteer_app, name="gazetteer")


@gazetteer_app.command("load")
def gazetteer_load_cmd(
    folder: Annotated[
        Path | None,
        typer.Option(help="Folder of china-division CSV files (default: fetched at setup)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Reload even when these files are loaded.")] = False,
) -> None:
    """Load the gazetteer into the store (idempotent: a second run does nothing)."""
    from geo_grid.assets import AssetError
    from geo_grid.services.gazetteer import load_gazetteer

    try:
        result = load_gazetteer(folder=folder, force=force, progress=_err.print)
    except AssetError as exc:
        _err.print(f"geo-grid gazetteer load: {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    rows = result["rows"]
    counts = ", ".join(
        f"{rows.get(level, 0):,} {label}"
        for level, label in (
            ("province", "provinces"),
            ("city", "cities"),
            ("district", "districts"),
            ("street", "streets"),
            ("community", "communities"),
        )
    )
    if result["loaded"]:
        _out.print(f"gazetteer loaded in {result['seconds']} s: {counts}")
    else:
        _out.print(f"gazetteer already loaded: {counts}")


def geocode_cmd(
    address: Annotated[str | None, typer.Argument(metavar="ADDRESS", help="One address.")] = None,
    batch: Annotated[
        Path | None, typer.Option("--batch", help="CSV of addresses to geocode.")
    ] = None,
    column: Annotated[
        str | None, typer.Option(help="Column of the --batch CSV holding the address.")
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Output CSV (default: IN_geocoded.csv).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    district: DistrictOpt = None,
) -> None:
    """Geocode an address to its grids, or a CSV with --batch IN.csv --column COL --out OUT.csv.

    Every district served is searched (its admin prefix picks one), or only --district."""
    districts = district_codes(district)
    if batch is not None:
        if address is not None:
            raise BadInput("address: give either ADDRESS or --batch, not both", field="address")
        if not column:
            raise BadInput("--column: name the CSV column that holds the address", field="column")
        dest = out_path or batch.with_name(f"{batch.stem}_geocoded.csv")
        _geocode_file(batch, column, dest, districts)
        return
    if address is None:
        raise BadInput("address: give an ADDRESS or --batch IN.csv --column COL", field="address")
    from geo_grid.services import geocoding

    result = geocoding.geocode(address, districts=districts)
    if as_json:
        _json(result.to_dict())
    else:
        _print_geocode(result)
    if result.status != "matched":
        raise typer.Exit(1)


def _print_geocode(r) -> None:
    """A geocoder answer for a person: status and reasons in Chinese (labels.py)."""
    from geo_grid.labels import GEOCODE_STATUS, label, reason_zh

    status = label(GEOCODE_STATUS, r.status)
    if r.status == "matched":
        _out.print(f"{status} {r.level} confidence {r.confidence:.2f}: {r.matched_text or ''}")
        _out.print(f"grid {r.grid_code}  lon {r.lon:.6f} lat {r.lat:.6f}")
        for layer, code in r.grids.items():
            _out.print(f"  {layer}: {code}")
        if r.reason:
            _out.print(f"note: {reason_zh(r.reason)}")
        return
    _out.print(f"{status}: {reason_zh(r.reason) or ''} (confidence {r.confidence:.2f})")
    if r.alternatives:
        table = Table("confidence", "grid", "address")
        for c in r.alternatives:
            table.add_row(f"{c.confidence:.2f}", c.grid_code or "", c.text or "")
        _out.print(table)


def _geocode_file(src: Path, column: str, dest: Path, districts: list[str] | None) -> None:
    from geo_grid.services import geocoding

    frame = geocoding.read_address_csv(src, column)
    with Progress(
        TextColumn("geocoding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
    ) as bar:
        task = bar.add_task("geocode", total=len(frame))
        result = geocoding.geocode_table(
            frame, column, limit=None, progress=lambda done: bar.update(task, completed=done),
            districts=districts,
        )  # fmt: skip
    try:
        result.to_csv(dest, index=False, encoding="utf-8-sig")
    except OSError as exc:
        raise BadInput(f"--out: cannot write {dest}: {exc.strerror}", field="out") from exc
    counts = result["status"].value_counts()
    _out.print(
        f"geocoded {len(result)} addresses to {dest}: "
        + ", ".join(f"{k} {int(counts.get(k, 0))}" for k in ("matched", "ambiguous", "unmatched"))
    )


def locate_cmd(
    lon: Annotated[float, typer.Argument(help="Longitude.")],
    lat: Annotated[float, typer.Argument(help="Latitude.")],
    crs: Annotated[str, typer.Option(help=_CRS_HELP)] = "wgs84",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The district, every layer's grid, the community, street and people on duty at a point."""
    from geo_grid.services import geocoding

    r = geocoding.locate(lon, lat, crs)
    if as_json:
        _json(r.to_dict())
    else:
        where = (
            f"inside the district {r.district_name or ''} {r.district_code or ''}".rstrip()
            if r.inside_district
            else "outside the district"
        )
        _out.print(f"{r.lon:.6f} {r.lat:.6f} (CGCS2000): {where}")
        _out.print(f"street {r.street_name or '-'} {r.street_code or ''}")
        _out.print(f"community {r.community_name or '-'} {r.community_code or ''}")
        for layer, code in r.grids.items():
            _out.print(f"  {layer}: {code or '-'}")
        from geo_grid.labels import ROSTER_ROLE, label

        for p in r.roster:
            _out.print(f"  {label(ROSTER_ROLE, p.role)}: {p.name} {p.phone or ''}")
    if not r.inside_district:
        raise typer.Exit(1)
