"""``geo-grid map KIND --out map.html``: the API's map pages written as files that work offline.

The page is written with its assets in ``static/`` beside it (:func:`geo_grid.maps.write_map`), so
the folder can be copied to a machine with no network. Pages that talk to the server (the search
box, vector tiles, the dispatch queue, plan editing) need ``--api http://host:8000``; without it
they still draw everything they carry.

Exit codes follow the CLI's: 0 written, 2 bad input (unknown kind, missing option, unknown layer
or grid), 3 no database.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from geo_grid.cli._common import DistrictOpt, district_code
from geo_grid.cli._common import out as _out
from geo_grid.errors import BadInput

__all__ = ["map_cmd", "register"]

KINDS = ("coverage", "checks", "cases", "indicators", "services", "dispatch", "grid", "plan")


def register(app: typer.Typer) -> None:
    """Add ``map`` to the ``geo-grid`` app."""
    app.command("map")(map_cmd)


def _when(value: str | None, option: str) -> datetime | None:
    """Read as the API reads ``from``/``to`` (:mod:`geo_grid.periods`; local time if no offset)."""
    from geo_grid.periods import parse_instant

    return parse_instant(value, option)


def map_cmd(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="|".join(KINDS))],
    out_path: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path(
        "map.html"
    ),
    layer: Annotated[
        str | None, typer.Option("--layer", help="Layer key (checks: which layer to check).")
    ] = None,
    code: Annotated[str | None, typer.Option("--code", help="Grid code (grid).")] = None,
    plan: Annotated[int | None, typer.Option("--plan", help="Plan id (plan).")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Cases from (ISO date; Beijing time).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Cases until (exclusive).")] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="Case category code or prefix.")
    ] = None,
    api: Annotated[
        str, typer.Option("--api", help="Server the page calls, e.g. http://127.0.0.1:8000.")
    ] = "",
    district: DistrictOpt = None,
) -> None:
    """Write a map page (coverage, checks, cases, indicators, services, dispatch, grid, plan) of
    one district (--district; a grid's or a plan's own)."""
    from geo_grid.maps import write_map
    from geo_grid.periods import check_period
    from geo_grid.services import maps, plans
    from geo_grid.settings import get_settings

    if kind not in KINDS:
        raise BadInput(f"kind: unknown map {kind!r} (one of {', '.join(KINDS)})", field="kind")
    params: dict = {"api_base": api.rstrip("/") or None}
    if kind == "checks":
        if not layer:
            raise BadInput("--layer: name the layer to check (e.g. urban_mgmt)", field="layer")
        params["layer"] = layer
    elif kind == "grid":
        if not code:
            raise BadInput("--code: name the unified grid (15 digits)", field="code")
        params["code"] = code
        district = district or code[:6]
    elif kind == "plan":
        if plan is None:
            raise BadInput("--plan: give the plan id", field="plan")
        params["plan_id"] = plan
        district = district or plans.get_plan(plan)["district_code"]
    elif kind in ("cases", "indicators"):
        period = check_period(
            _when(start, "--from"), _when(end, "--to"),
            max_days=get_settings().max_period_days, start_field="--from", end_field="--to",
        )  # fmt: skip
        params.update(start=period.start, end=period.end)
        if kind == "cases":
            params["category"] = category
    m = maps.build(kind, district=district_code(district), asset_base="/static", **params)
    written = write_map(m, out_path)
    size = written.stat().st_size
    _out.print(f"wrote {written} ({size / 1e6:.2f} MB, assets in {written.parent / 'static'})")
