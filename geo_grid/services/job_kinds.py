"""The kinds of long work a job can be, by name: how each checks its arguments and does its work.

Each kind is two functions over the services that already do the work:

* ``prepare(params, principal, local)`` checks the arguments as the work would and reads what
  must exist (the generations, the plan), quickly, when the job is submitted: bad input is then a
  4xx answer, never a queued job that fails. It returns the arguments the work is given and the
  district the job acts on. ``local`` is True only for the command line on the operator's own
  machine (:func:`geo_grid.services.jobs.run_here`): only then may a kind write to a path named
  in its arguments;
* ``run(params, ctx)`` does the work in a worker and returns its result; ``ctx``
  (:class:`~geo_grid.services.jobs.JobContext`) reports progress and names who asked. A kind
  whose work stores something hands ``ctx.record`` to the service, which calls it in the
  transaction that stores the work: the job is finished in that very transaction, so its writes
  happen once whichever worker dies when (:mod:`geo_grid.services.jobs`).

Kinds: ``merge`` (多网合一), ``accept_suggestions`` (accept-all or some of a plan's
suggestions), ``check_layer`` and ``fix_layer`` (a stored layer's coverage check, or its fix as a
draft generation), ``geocode_batch``, ``export_layer`` (a generation written to a file
under ``<home>/exports/job_<id>/``), and ``export_cases`` and ``export_indicators`` (a case list
or 红绿指标 as an XLSX workbook there: :mod:`geo_grid.services.export_jobs`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_grid.access import Principal
from geo_grid.errors import BadInput
from geo_grid.labels import JOB_KIND, label
from geo_grid.services import export_jobs
from geo_grid.settings import get_settings

if TYPE_CHECKING:
    from geo_grid.services.jobs import JobContext

__all__ = ["KINDS", "JobKind", "Prepared", "exports_dir", "kind_of", "title"]

_LAYER_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_EXPORT_FORMATS = ("gpkg", "geojson", "shp", "csv")
_OVERLAP_RULES = ("longest_border", "larger")


@dataclass(frozen=True)
class Prepared:
    """A job's checked arguments and the district it acts on (None: several or none)."""

    params: dict[str, Any]
    district: str | None


@dataclass(frozen=True)
class JobKind:
    """One kind of long work (see the module's docstring)."""

    name: str
    prepare: Callable[[dict[str, Any], Principal, bool], Prepared]
    run: Callable[[dict[str, Any], JobContext], dict[str, Any]]


# ---------------------------------------------------------------------- argument helpers
def _number(params: Mapping[str, Any], name: str, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{name}: expected a number, got {value!r}", field=name)
    return float(value)


def _flag(params: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise BadInput(f"{name}: expected true or false, got {value!r}", field=name)
    return value


def _generation(params: Mapping[str, Any]) -> int | None:
    value = params.get("generation")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInput(f"generation: a generation number (1 or more), not {value!r}",
                       field="generation")  # fmt: skip
    return value


def _layer(params: Mapping[str, Any]) -> str:
    value = params.get("layer")
    if not isinstance(value, str) or not _LAYER_KEY.match(value):
        raise BadInput(f"layer: a layer key such as unified or urban_mgmt, not {value!r}",
                       field="layer")  # fmt: skip
    return value


def _path(params: Mapping[str, Any], name: str, local: bool) -> str | None:
    """A path to write to: the command line's only (a job of the API writes where it decides)."""
    value = params.get(name)
    if value is None:
        return None
    if not local:
        raise BadInput(f"{name}: a job submitted over the API does not write to a path",
                       field=name)  # fmt: skip
    return str(value)


def _stored_layer(params: Mapping[str, Any], who: Principal) -> dict[str, Any]:
    """Layer, district and generation of a stored-layer job, checked; the generation exists."""
    from geo_grid.services import checks
    from geo_grid.services import districts as district_profiles

    layer, generation = _layer(params), _generation(params)
    district = district_profiles.pick(who, params.get("district")).code
    checks.resolve_generation(layer, district=district, generation=generation)
    return {"layer": layer, "district": district, "generation": generation}


# ------------------------------------------------------------------------------ the kinds
def _prepare_merge(params: dict[str, Any], who: Principal, local: bool) -> Prepared:
    from geo_grid.services import checks

    layers = params.get("layers", list(checks.DEPARTMENT_LAYERS))
    if not isinstance(layers, list | tuple) or not all(isinstance(k, str) for k in layers):
        raise BadInput("layers: a list of department layer keys", field="layers")
    share, deviation = _number(params, "share_threshold", 0.9), _number(params, "deviation_m", 10.0)
    layers, district = checks.merge_inputs(
        layers, district=params.get("district"), share_threshold=share, deviation_m=deviation,
        viewer=who,
    )  # fmt: skip
    out = {"layers": layers, "district": district, "as_draft": _flag(params, "as_draft"),
           "share_threshold": share, "deviation_m": deviation,
           "out_dir": _path(params, "out_dir", local)}  # fmt: skip
    return Prepared(out, district)


def _run_merge(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    from geo_grid.services import checks

    return checks.merge(
        params["layers"], district=params["district"], as_draft=params["as_draft"],
        share_threshold=params["share_threshold"], deviation_m=params["deviation_m"],
        out_dir=params.get("out_dir"), author=ctx.author, progress=ctx.stages(0.02),
        record=ctx.record,
    )  # fmt: skip


def _prepare_accept(params: dict[str, Any], who: Principal, local: bool) -> Prepared:
    from geo_grid.services import plans

    plan_id, ids = params.get("plan_id"), params.get("ids")
    if isinstance(plan_id, bool) or not isinstance(plan_id, int) or plan_id < 1:
        raise BadInput(f"plan: a plan id, not {plan_id!r}", field="plan")
    if ids is not None and (
        not isinstance(ids, list | tuple) or not all(isinstance(i, str) for i in ids)
    ):
        raise BadInput("ids: a list of suggestion ids, or none for all", field="ids")
    plan = plans.acceptable(plan_id, viewer=who)
    return Prepared({"plan_id": plan_id, "ids": None if ids is None else list(ids)},
                    plan["district_code"])  # fmt: skip


def _run_accept(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    from geo_grid.services import plans

    return plans.accept_suggestions(
        params["plan_id"], params["ids"], author=ctx.author, viewer=ctx.principal,
        progress=ctx.stages(0.02), record=ctx.record,
    )  # fmt: skip


def _prepare_check(params: dict[str, Any], who: Principal, local: bool) -> Prepared:
    from geo_grid.services import checks

    out = _stored_layer(params, who)
    out["gap_width_m"] = checks.gap_width(_number(params, "gap_width_m", 20.0))
    out["refresh"] = _flag(params, "refresh")
    return Prepared(out, out["district"])


def _run_check(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    from geo_grid.services import checks

    ctx.report(0.02, label_of("read"))
    return checks.check_layer(
        params["layer"], district=params["district"], generation=params["generation"],
        gap_width_m=params["gap_width_m"], refresh=params["refresh"],
        progress=ctx.stages(0.1, 0.95), record=ctx.record,
    )  # fmt: skip


def _prepare_fix(params: dict[str, Any], who: Principal, local: bool) -> Prepared:
    from geo_grid.services import checks

    out = _stored_layer(params, who)
    out["gap_width_m"] = checks.gap_width(_number(params, "gap_width_m", 20.0))
    out["out"] = _path(params, "out", local)
    out["as_draft"] = _flag(params, "as_draft", default=not local)
    rule = params.get("overlap_rule", "longest_border")
    if rule not in _OVERLAP_RULES:
        raise BadInput(f"overlap_rule: one of {', '.join(_OVERLAP_RULES)}, not {rule!r}",
                       field="overlap_rule")  # fmt: skip
    out["overlap_rule"] = rule
    if out["out"] is None and not out["as_draft"]:
        raise BadInput("out: give an output file or ask for a draft generation", field="out")
    return Prepared(out, out["district"])


def _run_fix(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    from geo_grid.services import checks

    ctx.report(0.02, label_of("read"))
    return checks.fix_layer(
        params["layer"], district=params["district"], generation=params["generation"],
        out=params.get("out"), as_draft=params["as_draft"], gap_width_m=params["gap_width_m"],
        overlap_rule=params["overlap_rule"], author=ctx.author,
        progress=ctx.stages(0.1, 0.95), record=ctx.record,
    )  # fmt: skip


def _prepare_geocode(params: dict[str, Any], who: Principal, local: bool) -> Prepared:
    from geo_grid.services import districts, geocoding

    texts, field = params.get("addresses"), params.get("field", "addresses")
    if not isinstance(texts, list) or not all(isinstance(t, str | None) for t in texts):
        raise BadInput("addresses: expected a list of address strings", field="addresses")
    if len(texts) > geocoding.MAX_BATCH:
        raise BadInput(f"{field}: {len(texts)} addresses, at most {geocoding.MAX_BATCH} per "
                       "batch", field=field)  # fmt: skip
    asked = districts.readable_among(who, params.get("districts"))
    out = {"addresses": texts, "field": field, "districts": list(asked)}
    return Prepared(out, asked[0] if len(asked) == 1 else None)


def _run_geocode(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    from geo_grid.services import geocoding

    total = max(len(params["addresses"]), 1)

    def done(n: int) -> None:
        ctx.report(0.05 + 0.9 * n / total, f"{label_of('geocode')} {n}/{total}")

    ctx.report(0.02, label_of("geocode"))
    return geocoding.batch_answer(
        params["addresses"], field=params["field"], districts=params["districts"], progress=done
    )


def exports_dir() -> Path:
    """Where export jobs write their files: ``<home>/exports/job_<id>/``."""
    return (get_settings().home / "exports").resolve()


def _prepare_export(params: dict[str, Any], who: Principal, local: bool) -> Prepared:
    out = _stored_layer(params, who)
    fmt = params.get("format", "gpkg")
    if fmt not in _EXPORT_FORMATS:
        raise BadInput(f"format: one of {', '.join(_EXPORT_FORMATS)}, not {fmt!r}",
                       field="format")  # fmt: skip
    out["format"] = fmt
    return Prepared(out, out["district"])


def _run_export(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    from geo_grid.services import layers

    folder = exports_dir() / f"job_{ctx.job_id}"
    folder.mkdir(parents=True, exist_ok=True)
    ext = {"shp": "zip"}.get(params["format"], params["format"])
    name = f"{params['layer']}_{params['district']}.{ext}"
    ctx.report(0.05, label_of("write"))
    result = layers.export_layer(
        folder / name, layer=params["layer"], district=params["district"],
        generation=params["generation"], fmt=params["format"],
    )  # fmt: skip
    written = Path(result.pop("path"))
    return {**result, "file": written.name, "bytes": written.stat().st_size}


def _prepare_sheet(check: Callable[..., tuple[dict[str, Any], str | None]]) -> Callable:
    """A spreadsheet export's ``prepare``: :mod:`geo_grid.services.export_jobs`' check."""

    def prepare(params: dict[str, Any], who: Principal, local: bool) -> Prepared:
        return Prepared(*check(params, who))

    return prepare


def _run_sheet(write: Callable[..., dict[str, Any]]) -> Callable:
    """A spreadsheet export's ``run``: the workbook written to the job's export folder."""

    def run(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        folder = exports_dir() / f"job_{ctx.job_id}"
        return write(params, ctx.principal, folder, ctx.report)

    return run


def label_of(stage: str) -> str:
    from geo_grid.labels import JOB_STAGE

    return label(JOB_STAGE, stage)


KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind("merge", _prepare_merge, _run_merge),
        JobKind("accept_suggestions", _prepare_accept, _run_accept),
        JobKind("check_layer", _prepare_check, _run_check),
        JobKind("fix_layer", _prepare_fix, _run_fix),
        JobKind("geocode_batch", _prepare_geocode, _run_geocode),
        JobKind("export_layer", _prepare_export, _run_export),
        JobKind(
            "export_cases",
            _prepare_sheet(export_jobs.check_cases),
            _run_sheet(export_jobs.write_cases),
        ),
        JobKind(
            "export_indicators",
            _prepare_sheet(export_jobs.check_indicators),
            _run_sheet(export_jobs.write_indicators),
        ),
    )
}


def kind_of(name: str) -> JobKind:
    """The kind named ``name`` (:class:`BadInput` naming the known ones)."""
    try:
        return KINDS[name]
    except KeyError:
        raise BadInput(f"kind: no job kind {name!r} (known: {', '.join(KINDS)})",
                       field="kind") from None  # fmt: skip


def title(name: str) -> str:
    """A kind's Chinese name, what pages show."""
    return label(JOB_KIND, name)
