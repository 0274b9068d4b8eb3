"""``geo-grid demo …``: generate and load the seeded Qixia 栖霞区 demo district."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo_grid.cli._common import err, out

__all__ = ["demo_app"]

demo_app = typer.Typer(help="The seeded Qixia 栖霞区 demo district.", no_args_is_help=True)


@demo_app.command("load")
def demo_load(
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 20261125,
    force: Annotated[bool, typer.Option(help="Reload even if a demo is loaded.")] = False,
) -> None:
    """Generate the Qixia demo district and load it (skipped when already loaded)."""
    from geo_grid.services import demo

    result = demo.load_demo(seed, force=force, progress=lambda m: err.print(f"[dim]{m}[/dim]"))
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
