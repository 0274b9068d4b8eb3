"""``geo-grid demo …``: generate seeded demo districts and load them next to what is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from geo_grid.cli._common import err, out
from geo_grid.errors import BadInput

__all__ = ["demo_app"]

demo_app = typer.Typer(
    help="Seeded demo districts (the demo's own by default; any district in data/).",
    no_args_is_help=True,
)


def _say(result: dict[str, Any]) -> None:
    where = f"{result['district']} {result.get('name', '')}".rstrip()
    if not result["loaded"]:
        out.print(f"demo {where} already loaded (seed {result['seed']}): nothing to do")
    elif result.get("reason") == "cases only":
        out.print(f"demo {where} cases loaded: {result['cases']}")
    else:
        took = (f" in {result['total_s']} s (generation {result['generate_s']} s, store "
                f"{result['store_s']} s)" if "total_s" in result else "")  # fmt: skip
        out.print(
            f"demo {where} loaded{took}: "
            + ", ".join(f"{k} {v}" for k, v in result["grids"].items())
            + f"; {result['buildings']} buildings, {result['addresses']} addresses, "
            + f"{result['cases']} cases"
        )


@demo_app.command("load")
def demo_load(
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 20261125,
    force: Annotated[bool, typer.Option(help="Reload the district even if it is loaded.")] = False,
    district: Annotated[
        str | None,
        typer.Option(help="District code (one of the districts in data/; default: the demo's)."),
    ] = None,
    city: Annotated[
        str | None, typer.Option(help="City code: every district of it shipped in data/.")
    ] = None,
    grids: Annotated[
        int | None,
        typer.Option(help="Unified grids to generate (at least one per community; smaller demos)."),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --city: districts generated and stored at once "
            "(default: the CPUs this process may use).",
        ),  # fmt: skip
    ] = None,
) -> None:
    """Generate a demo district and load it next to the stored ones (skipped when loaded)."""
    from geo_grid.services import demo

    def progress(message: str) -> None:
        err.print(f"[dim]{message}[/dim]")

    if city is not None:
        if district is not None or grids is not None:
            raise BadInput("--city: give either --city or --district (and --grids)", field="city")
        loaded = demo.load_city(city, seed, force=force, progress=progress, processes=processes)
        for result in loaded["districts"]:
            _say(result)
        if loaded["phases"]:
            out.print(f"city {city} loaded in {loaded['seconds']} s: "
                      + ", ".join(f"{k} {v} s" for k, v in loaded["phases"].items()))  # fmt: skip
    else:
        _say(demo.load_demo(seed, district=district, force=force, progress=progress,
                            n_grids=grids))  # fmt: skip
    accounts = demo.demo_accounts()
    for username, acc in accounts["users"].items():
        out.print(f"demo account {username} ({acc['role']}): password {acc['password']}")
    out.print(f"demo accounts and Open311 key: {accounts['file']} (log in at /login)")


@demo_app.command("generate")
def demo_generate(
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 20261125,
    district: Annotated[
        str | None,
        typer.Option(help="District code (one of the districts in data/; default: the demo's)."),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for GeoPackages and ground truth.")
    ] = Path("data/ground_truth"),
    layers: Annotated[bool, typer.Option(help="Also write each layer as a GeoPackage.")] = False,
) -> None:
    """Generate a demo district without a database: ground truth (and optionally the layers)."""
    from geo_grid.demo import generate_demo, ground_truth_name, load_district, write_ground_truth

    demo = generate_demo(load_district(district) if district else None, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = ground_truth_name(demo)
    write_ground_truth(demo, out_dir / truth)
    if layers:
        from geo_grid.io import write_layer

        for key, grids in demo.grids.items():
            write_layer(grids, out_dir / truth.replace("_defects.json", f"_{key}.gpkg"))
    out.print(f"wrote {out_dir}")
