"""``geo-grid plan ...``: redraw grids from the shell (create, edit, undo, the roster of new grids,
suggest, validate, diff, publish).

Geometries are given as GeoJSON (inline or ``@file.geojson``) in lon/lat EPSG:4490. Every command
prints JSON with ``--json`` and a short summary otherwise; exit codes follow the CLI's (2 for bad
input or a conflict, 1 when ``validate`` finds the plan not clean).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from geo_grid.cli._common import DistrictOpt, district_code
from geo_grid.cli._common import out as _out
from geo_grid.cli._common import print_json as _json
from geo_grid.cli._progress import run_kind
from geo_grid.errors import BadInput
from geo_grid.plans import EDIT_OPS

__all__ = ["plan_app"]

plan_app = typer.Typer(
    help="Redraw grids: draft plans, edits with their impact, suggestions, publish.",
    no_args_is_help=True,
)

PlanId = Annotated[int, typer.Argument(metavar="PLAN", help="Plan id.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _geojson(value: str, name: str) -> dict:
    """Inline GeoJSON, or ``@path`` to a file holding a geometry, Feature or FeatureCollection."""
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.exists():
            raise BadInput(f"{name}: no such file {path}", field=name)
        text = path.read_text(encoding="utf-8")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{name}: not GeoJSON ({exc.msg})", field=name) from exc
    if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        feats = obj.get("features") or []
        if len(feats) != 1:
            raise BadInput(f"{name}: expected one feature, got {len(feats)}", field=name)
        obj = feats[0]
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict):
        raise BadInput(f"{name}: not a GeoJSON geometry", field=name)
    return obj


def _report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _json(result)
        return
    moved = result["impact"]["moved"]
    _out.print(
        f"plan {result['plan']} edit {result['seq']} ({result['op']}): "
        f"added {', '.join(result['added']) or '-'}; changed {', '.join(result['changed']) or '-'}; "
        f"removed {', '.join(result['removed']) or '-'}"
    )
    _out.print("moved: " + ", ".join(f"{k} {v}" for k, v in moved.items()))
    for g in result["impact"]["grids"]:
        b, a = g["before"] or {}, g["after"] or {}
        _out.print(
            f"  {g['code']}: households {b.get('households', '-')} → {a.get('households', '-')}, "
            f"addresses {b.get('addresses', '-')} → {a.get('addresses', '-')}"
        )
    for w in result.get("warnings") or []:
        _out.print(f"  warning: {w}")


@plan_app.command("create")
def create_cmd(
    layer: Annotated[str, typer.Option(help="Layer key.")] = "unified",
    note: Annotated[str | None, typer.Option(help="What the plan is for.")] = None,
    as_json: AsJson = False,
    district: DistrictOpt = None,
) -> None:
    """Open a plan: a draft copy of the layer's published generation in a district."""
    from geo_grid.services import plans

    result = plans.create_plan(layer, district=district_code(district), note=note, author="cli")
    if as_json:
        _json(result)
    else:
        _out.print(
            f"plan {result['id']}: draft generation {result['generation']} of {layer} "
            f"in district {result['district_code']}"
        )


_REQUIRED = inspect.Parameter.empty

#: How each edit parameter of :data:`geo_grid.plans.EDIT_OPS` is given on the command line: its
#: annotation and default; the GeoJSON ones (inline or ``@file``) are in :data:`_GEOJSON`.
_EDIT_PARAMS: dict[str, tuple[Any, Any]] = {
    "grid": (Annotated[str, typer.Option(help="Grid code.")], _REQUIRED),
    "line": (Annotated[str, typer.Option(help="GeoJSON LineString (or @file).")], _REQUIRED),
    "geometry": (Annotated[str, typer.Option(help="GeoJSON Polygon (or @file) of the new "
                                                  "outline.")], _REQUIRED),
    "grids": (Annotated[list[str], typer.Argument(metavar="GRID...",
                                                  help="Grid codes to merge.")], _REQUIRED),
    "keep": (Annotated[str | None, typer.Option(help="Code that survives.")], None),
    "buildings": (Annotated[list[str], typer.Argument(metavar="BUILDING...",
                                                      help="Building codes.")], _REQUIRED),
    "to": (Annotated[str, typer.Option(help="Grid code that takes the buildings.")], _REQUIRED),
    "code": (Annotated[str | None, typer.Option(help="New code.")], None),
    "name": (Annotated[str | None, typer.Option(help="New name.")], None),
}  # fmt: skip
_GEOJSON = frozenset({"line", "geometry"})

#: The edits offered as commands: op of :data:`~geo_grid.plans.EDIT_OPS` → (command, what it does).
#: ``divide`` (a grid into given parts) is left to the API, where the parts are drawn.
_EDIT_COMMANDS: dict[str, tuple[str, str]] = {
    "split": ("split", "Split a grid by a line drawn across it."),
    "merge": ("merge", "Merge neighbouring grids of one community."),
    "reshape": ("reshape", "Give a grid a new outline; its neighbours give up or take the "
                           "difference."),
    "move_buildings": ("move", "Move buildings into a neighbouring grid (redrawn along the gaps "
                               "between buildings)."),
    "recode": ("recode", "Give a grid a new code and/or name (the roster follows the code)."),
}  # fmt: skip


def _edit_command(op: str, doc: str) -> Callable[..., None]:
    """The command of one edit: PLAN, then the op's parameters as :data:`_EDIT_PARAMS` says,
    then ``--json``; it sends them to :func:`geo_grid.services.plans.edit` under the op's name."""
    names = EDIT_OPS[op]

    def command(**given: Any) -> None:
        from geo_grid.services import plans

        params = {
            name: _geojson(given[name], name) if name in _GEOJSON else given[name]
            for name in names
            if given[name] is not None
        }
        _report(plans.edit(given["plan"], op, params, author="cli"), given["as_json"])

    def parameter(name: str, annotation: Any, default: Any = _REQUIRED) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                                 default=default)  # fmt: skip

    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [parameter("plan", PlanId)]
        + [parameter(name, *_EDIT_PARAMS[name]) for name in names]
        + [parameter("as_json", AsJson, False)]
    )
    command.__doc__ = doc
    return command


for _op, (_verb, _doc) in _EDIT_COMMANDS.items():
    plan_app.command(_verb)(_edit_command(_op, _doc))


@plan_app.command("suggest")
def suggest_cmd(
    plan: PlanId,
    accept: Annotated[
        list[str] | None, typer.Option(help="Accept a suggestion by id (repeatable).")
    ] = None,
    accept_all: Annotated[bool, typer.Option("--accept-all", help="Accept every one.")] = False,
    as_json: AsJson = False,
) -> None:
    """List the edits that bring out-of-band grids into their household band (and accept them)."""
    from geo_grid.services import plans

    if accept or accept_all:
        ids = None if accept_all else list(accept)
        result = run_kind("accept_suggestions", {"plan_id": plan, "ids": ids})
        if as_json:
            _json(result)
        else:
            _out.print(
                f"accepted {len(result['applied'])} suggestions; "
                f"{result['out_of_band']} grids out of band"
            )
        return
    result = plans.suggestions(plan)
    if as_json:
        _json(result)
        return
    _out.print(
        f"{result['out_of_band']} grids out of band ({result['under']} under, {result['over']} over)"
    )
    for s in result["suggestions"]:
        _out.print(f"  {s['id']}: {s['reason']}")


@plan_app.command("undo")
def undo_cmd(plan: PlanId, as_json: AsJson = False) -> None:
    """Take back the plan's last edit (appended to its log as an undo; exit 2 if none is left)."""
    from geo_grid.services import plans

    result = plans.undo(plan, author="cli")
    if as_json:
        _json(result)
        return
    _out.print(
        f"plan {plan} edit {result['seq']}: undid edit {result['undone']} ({result['op']}); "
        f"restored {', '.join(result['restored']) or '-'}; removed "
        f"{', '.join(result['removed']) or '-'}"
    )


@plan_app.command("roster")
def roster_cmd(
    plan: PlanId,
    grid: Annotated[str, typer.Argument(metavar="GRID", help="Grid code of the plan.")],
    put: Annotated[
        list[str] | None,
        typer.Option("--set", help="PERSON:ROLE to put on duty (repeat; replaces the plan's)."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Put nobody on duty by the plan.")] = False,
    as_json: AsJson = False,
) -> None:
    """Who will be on duty in a grid of the plan; --set or --clear changes whom the plan adds
    (they join the roster when the plan is published)."""
    from geo_grid.services import plans

    if put or clear:
        entries = []
        for item in put or []:
            person, sep, role = item.partition(":")
            if not sep or not person or not role:
                raise BadInput(f"set: expected PERSON:ROLE, got {item!r}", field="set")
            entries.append({"person_id": person, "role": role})
        form = plans.set_roster(plan, grid, entries, author="cli")
    else:
        form = plans.roster_form(plan, grid)
    if as_json:
        _json(form)
        return
    _out.print(f"plan {plan} grid {grid}: {form['on_duty']} on duty once published")
    for kind in ("stored", "planned"):
        for p in form[kind]:
            _out.print(f"  {kind}: {p['person_id']} {p['name']} ({p['role']})")


@plan_app.command("validate")
def validate_cmd(plan: PlanId, as_json: AsJson = False) -> None:
    """Check the whole plan: clean coverage in communities, unique codes. Exit 1 if not clean."""
    from geo_grid.services import plans

    result = plans.validate(plan)
    if as_json:
        _json(result)
    else:
        summary = result["coverage"]["summary"]
        bad = {k: v for k, v in summary.items() if k not in ("features", "valid") and v}
        _out.print(
            f"plan {plan}: {'clean' if result['valid'] else 'NOT clean'}, {result['grids']} grids, "
            f"{result['out_of_band']} out of band"
            + (f"; defects {bad}" if bad else "")
            + (f"; {'; '.join(result['problems'])}" if result["problems"] else "")
            + (
                f"; nobody on duty in {', '.join(result['unstaffed'])}"
                if result["unstaffed"]
                else ""
            )
        )
    if not result["valid"]:
        raise typer.Exit(1)


@plan_app.command("diff")
def diff_cmd(
    plan: Annotated[int | None, typer.Argument(metavar="[PLAN]", help="Plan id.")] = None,
    from_id: Annotated[int | None, typer.Option("--from", help="Generation id (old).")] = None,
    to_id: Annotated[int | None, typer.Option("--to", help="Generation id (new).")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Write a GPKG for QGIS.")] = None,
    as_json: AsJson = False,
) -> None:
    """Grids added, removed and changed by a plan (or between two generation ids)."""
    from geo_grid.services import plans

    if plan is not None:
        diff, summary = plans.diff_plan(plan)
    elif from_id is not None and to_id is not None:
        diff, summary = plans.diff_generations(from_id, to_id)
    else:
        raise BadInput("plan: give PLAN or --from and --to generation ids", field="plan")
    if out_path is not None:
        summary["path"] = str(plans.export_diff(diff, out_path))
    if as_json:
        _json(summary)
    else:
        _out.print(
            f"{summary['added']} added, {summary['removed']} removed, {summary['changed']} changed"
            + (f" → {summary['path']}" if out_path else "")
        )


@plan_app.command("export")
def export_cmd(
    plan: PlanId,
    out_path: Annotated[Path, typer.Argument(metavar="OUT", help="File to write (e.g. .gpkg).")],
) -> None:
    """Write the plan's draft grids to a file to edit in QGIS."""
    from geo_grid.services import plans

    result = plans.export_plan(plan, out_path)
    _out.print(f"exported {result['grids']} grids of plan {plan} to {result['path']}")


@plan_app.command("import")
def import_cmd(
    file: Path,
    layer: Annotated[str, typer.Option(help="Layer key.")] = "unified",
    note: Annotated[str | None, typer.Option(help="What the plan is for.")] = None,
    as_json: AsJson = False,
    district: DistrictOpt = None,
) -> None:
    """Import an edited layer file (e.g. from QGIS) as a new plan on a district's layer."""
    from geo_grid.services import plans

    result = plans.import_plan(  # the operator's own file: no upload limits
        file, layer=layer, district=district_code(district), note=note, author="cli",
        upload_limits=False,
    )  # fmt: skip
    if as_json:
        _json(result)
    else:
        _out.print(
            f"plan {result['id']}: {result['added']} added, {result['removed']} removed, "
            f"{result['changed']} changed"
        )


@plan_app.command("publish")
def publish_cmd(plan: PlanId, as_json: AsJson = False) -> None:
    """Validate the plan and publish it (the current generation is retired and kept)."""
    from geo_grid.services import plans

    result = plans.publish(plan, author="cli")
    if as_json:
        _json(result)
    else:
        _out.print(
            f"published plan {plan} as {result['layer']} generation "
            f"{result['published_generation']}; {result['cases_regridded']} open cases re-gridded; "
            f"{result['roster_added']} people put on duty"
            + (
                f"; nobody on duty in {', '.join(result['unstaffed'])}"
                if result["unstaffed"]
                else ""
            )
        )
