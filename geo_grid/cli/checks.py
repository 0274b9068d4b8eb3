"""``geo-grid check``, ``geo-grid fix`` and ``geo-grid merge``: coverage and 多网合一 from the shell.

Kept apart from :mod:`geo_grid.cli` (which stays a table of contents); :func:`register` adds the
commands. Exit codes follow the CLI's: 0 clean, 1 defects found (``check``; ``fix`` when the fixed
layer still has defects), 2 bad input (one line on stderr), 3 no database. A file check never
touches the database, and a file is the operator's own: the API's upload limits do not apply.
``--json`` prints exactly one JSON object on stdout; progress bars (rich, from the work's
progress: :mod:`geo_grid.cli._progress`) go to stderr when it is a terminal. ``check --layer``,
``fix --layer`` and ``merge`` do the work of the API's jobs of the same kind, here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from geo_grid.cli._common import DistrictOpt
from geo_grid.cli._common import out as _out
from geo_grid.cli._common import print_json as _json
from geo_grid.cli._progress import bar, run_kind, stage_progress
from geo_grid.coverage import DEFECT_KINDS
from geo_grid.errors import BadInput
from geo_grid.labels import DEFECT_KIND, label

__all__ = ["check_cmd", "fix_cmd", "merge_cmd", "register"]


_GAP_HELP = (
    "Holes narrower than this many metres are reported as sliver_gap, wider ones as gap "
    "(both are defects). 20 m separates digitizing slivers (the demo's are 2-18 m wide) from "
    "real uncovered land (the demo's gaps are 25 m and wider)."
)
_CRS_HELP = (
    "Real coordinate system of FILE when it has none or lies: 4490|4326|gcj02|bd09|EPSG:n "
    "(web-map extracts are GCJ-02 labelled EPSG:4326: pass gcj02)."
)


def register(app: typer.Typer) -> None:
    """Add ``check``, ``fix`` and ``merge`` to the ``geo-grid`` app."""
    app.command("check")(check_cmd)
    app.command("fix")(fix_cmd)
    app.command("merge")(merge_cmd)


def _source(file: Path | None, layer: str | None) -> None:
    if (file is None) == (layer is None):
        raise BadInput("give either FILE or --layer (not both, not neither)", field="layer")


def _print_summary(summary: dict[str, Any], defects: list[dict[str, Any]], title: str) -> None:
    status = "[green]clean[/green]" if summary["valid"] else "[red]defects found[/red]"
    _out.print(f"{title}: {summary['features']} grids, {status}")
    if summary["valid"]:
        return
    counts = Table("kind", "count")
    for kind in DEFECT_KINDS:
        if summary.get(kind):
            counts.add_row(f"{DEFECT_KIND[kind]} {kind}", str(summary[kind]))
    _out.print(counts)
    rows = Table("kind", "grids", "area m²", "width m", "parent")
    for d in defects[:30]:
        rows.add_row(
            label(DEFECT_KIND, d["kind"]),
            ", ".join(d["ids"]),
            "" if d["area_m2"] is None else f"{d['area_m2']:.1f}",
            "" if d["width_m"] is None else f"{d['width_m']:.1f}",
            d["parent"] or "",
        )
    _out.print(rows)
    if len(defects) > 30:
        _out.print(f"... and {len(defects) - 30} more (use --json for all)")


def check_cmd(
    file: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="Layer file (no database needed).")
    ] = None,
    layer: Annotated[
        str | None, typer.Option(help="Check a stored layer instead of a file.")
    ] = None,
    generation: Annotated[
        int | None, typer.Option(help="Generation number with --layer (default: published).")
    ] = None,
    parent: Annotated[
        Path | None,
        typer.Option(help="File of parent units (communities) FILE's grids must nest in."),
    ] = None,
    crs: Annotated[str | None, typer.Option(help=_CRS_HELP)] = None,
    parent_crs: Annotated[
        str | None, typer.Option(help="Coordinate system of --parent (default: --crs).")
    ] = None,
    gap_width: Annotated[float, typer.Option("--gap-width", help=_GAP_HELP)] = 20.0,
    refresh: Annotated[
        bool, typer.Option(help="With --layer: recompute even if this check is stored.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object {summary, defects}.")
    ] = False,
    district: DistrictOpt = None,
) -> None:
    """Check a layer's coverage: invalid or empty grids, duplicate codes and geometries, overlaps,
    gaps and sliver gaps, grids outside or across their community, communities not covered.

    Exit 0 when clean, 1 when defects were found, 2 on bad input. With --layer the stored
    communities are the parents and the result is stored (the API serves it).
    """
    _source(file, layer)
    if file is not None:
        from geo_grid.services.checks import check_file

        if generation is not None or refresh:
            raise BadInput("--generation/--refresh apply to --layer only", field="generation")
        with bar("覆盖检查") as report:  # the operator's own file: no upload limits
            checked = check_file(
                file, parent=parent, crs=crs, parent_crs=parent_crs, gap_width_m=gap_width,
                progress=stage_progress(report), upload_limits=False,
            )  # fmt: skip
        body = checked.to_json()
        title = str(file)
    else:
        if parent is not None or crs is not None or parent_crs is not None:
            raise BadInput(
                "--parent/--crs apply to files; a stored layer nests in the stored communities",
                field="parent",
            )
        params = {"layer": layer, "district": district, "generation": generation,
                  "gap_width_m": gap_width, "refresh": refresh}  # fmt: skip
        body = run_kind("check_layer", params)
        title = f"{layer} generation {body['generation']}"
    if as_json:
        _json(body)
    else:
        _print_summary(body["summary"], body["defects"], title)
    if not body["summary"]["valid"]:
        raise typer.Exit(1)


def fix_cmd(
    file: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="Layer file to fix.")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="Fix a stored layer instead of a file.")] = None,
    generation: Annotated[
        int | None, typer.Option(help="Generation number with --layer (default: published).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the fixed layer here (format from the extension).")
    ] = None,
    as_draft: Annotated[
        bool, typer.Option("--as-draft", help="With --layer: store as a new draft generation.")
    ] = False,
    parent: Annotated[
        Path | None, typer.Option(help="File of parent units FILE's grids must nest in.")
    ] = None,
    crs: Annotated[str | None, typer.Option(help=_CRS_HELP)] = None,
    gap_width: Annotated[float, typer.Option("--gap-width", help=_GAP_HELP)] = 20.0,
    overlap_rule: Annotated[
        str,
        typer.Option(
            help="Who keeps an overlap: longest_border (the neighbour sharing most border) "
            "or larger (the larger grid)."
        ),
    ] = "longest_border",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    district: DistrictOpt = None,
) -> None:
    """Repair overlaps, gaps, slivers and nesting errors; codes, names and households are kept.

    Exit 0 when the fixed layer checks clean, 1 if defects remain, 2 on bad input.
    """
    _source(file, layer)
    if file is not None:
        from geo_grid.services.checks import fix_file

        if out is None:
            raise BadInput("--out: name the file to write the fixed layer to", field="out")
        if as_draft or generation is not None:
            raise BadInput(
                "--as-draft/--generation apply to --layer only (import the fixed file instead)",
                field="as_draft",
            )
        with bar("覆盖修复") as report:  # the operator's own file: no upload limits
            result = fix_file(
                file, out, parent=parent, crs=crs, gap_width_m=gap_width,
                overlap_rule=overlap_rule, progress=stage_progress(report), upload_limits=False,
            )  # fmt: skip
    else:
        if parent is not None or crs is not None:
            raise BadInput("--parent/--crs apply to files", field="parent")
        params = {"layer": layer, "district": district, "generation": generation,
                  "out": None if out is None else str(out), "as_draft": as_draft,
                  "gap_width_m": gap_width, "overlap_rule": overlap_rule}  # fmt: skip
        result = run_kind("fix_layer", params)
    if as_json:
        _json(result)
    else:
        actions: dict[str, int] = {}
        for change in result["changes"]:
            actions[change["action"]] = actions.get(change["action"], 0) + 1
        done = ", ".join(f"{k} {v}" for k, v in sorted(actions.items())) or "nothing to change"
        _out.print(f"{result['grids_in']} grids in, {result['grids_out']} out: {done}")
        if result.get("path"):
            _out.print(f"wrote {result['path']}")
        if result.get("generation"):
            _out.print(f"stored as {layer} generation {result['generation']} (draft)")
        state = "clean" if result["check"]["valid"] else "STILL HAS DEFECTS"
        _out.print(f"fixed layer re-checked: {state}")
    if not result["check"]["valid"]:
        raise typer.Exit(1)


def merge_cmd(
    layers: Annotated[
        str,
        typer.Option(help="Department layers to merge, comma-separated."),
    ] = "politics_law,urban_mgmt,emergency,ecology",
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for proposed.gpkg, crosswalk.csv and conformance.csv."),
    ] = None,
    as_draft: Annotated[
        bool, typer.Option("--as-draft", help="Store the proposed layer as a draft of unified.")
    ] = False,
    share_threshold: Annotated[
        float,
        typer.Option(help="A unified grid is split when no department grid holds this share."),
    ] = 0.9,
    deviation: Annotated[
        float, typer.Option(help="Department lines further than this (m) from unified lines.")
    ] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    district: DistrictOpt = None,
) -> None:
    """多网合一: relate the department grids to the unified grid (crosswalk, stored and served at
    /api/v1/grids/{code}/crosswalk), report where they do not conform, and propose one grid."""
    keys = [k.strip() for k in layers.split(",") if k.strip()]
    params = {"layers": keys, "district": district, "out_dir": None if out is None else str(out),
              "as_draft": as_draft, "share_threshold": share_threshold,
              "deviation_m": deviation}  # fmt: skip
    result = run_kind("merge", params)
    if as_json:
        _json(result)
        return
    _out.print(
        f"merged {', '.join(f'{k} g{g}' for k, g in result['departments'].items())} onto "
        f"{result['base']} g{result['base_generation']}: {result['crosswalk']} crosswalk rows"
    )
    table = Table("conformance", "count")
    for kind, n in result["conformance"].items():
        table.add_row(kind, str(n))
    _out.print(table)
    prop = result["proposed"]
    clean = "clean" if prop["check"] and prop["check"]["valid"] else "NOT clean"
    _out.print(f"proposed: {prop['grids']} grids, {prop['households']} households, {clean}")
    for name, path in result["files"].items():
        _out.print(f"wrote {name}: {path}")
    if result["draft_generation"]:
        _out.print(f"stored as unified generation {result['draft_generation']} (draft)")
