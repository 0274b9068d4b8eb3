"""Layer use cases: list, read, import, export and publish grid layers. One transaction each.

Reads take ``districts`` (the codes the caller may read: :func:`geo_grid.services.districts.readable`)
and writes the one ``district`` they change; a layer key names the layer in every district, each
district has its own generations of it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo_grid import scratch
from geo_grid.access import mask_phone
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, NotFound
from geo_grid.measure import area_m2
from geo_grid.services import districts as district_profiles
from geo_grid.services import index
from geo_grid.settings import get_settings

__all__ = [
    "admin_areas",
    "export_layer",
    "get_grid",
    "import_layer",
    "layer_grids",
    "list_layers",
    "publish",
    "read_file",
    "read_limits",
    "roster_for",
]


def list_layers(districts: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every layer in each of ``districts`` (None: every district), with its published
    generation there."""
    with session_scope() as session:
        return repos.grids.list_layers(session, districts)


def layer_grids(
    layer: str,
    *,
    districts: Sequence[str],
    generation: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> tuple[list[dict[str, Any]], gpd.GeoDataFrame]:
    """A layer's published grids in ``districts`` (or generation ``generation`` of the one
    district named) and the generations they belong to.

    A district without a published generation of the layer adds nothing, unless it is the only
    one asked for (then :class:`NotFound` says so)."""
    if generation is not None and len(districts) != 1:
        raise BadInput(
            "district: a generation number belongs to one district; name it", field="district"
        )
    gens, frames = [], []
    with session_scope() as session:
        for code in districts:
            try:
                gen = repos.grids.resolve_generation(session, layer, generation, district=code)
            except NotFound:
                if len(districts) == 1:
                    raise
                continue
            gens.append(gen)
            frames.append(repos.grids.read_grids(session, generation_id=gen["id"], bbox=bbox))
    if not frames:
        raise NotFound(
            f"generation: layer {layer!r} has no published generation in district "
            f"{', '.join(districts) or '(none of yours is loaded)'}",
            field="generation",
        )
    grids = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    return gens, grids


def roster_for(
    session, layer: str, codes: list[str], district: str | None = None
) -> list[dict[str, Any]]:
    """The active roster of some grids of a layer (in one district), phones masked (what the
    grid page shows)."""
    frame = repos.district.read_roster(
        session, layer=layer, codes=codes, districts=None if district is None else [district]
    ).drop(columns=["district"])
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [
        {
            **row,
            "phone": mask_phone(row["phone"]),
            "linked_households": _int_or_none(row["linked_households"]),
        }
        for row in rows
    ]


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def get_grid(
    code: str,
    *,
    layer: str | None = None,
    generation: int | None = None,
    districts: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One grid by code in the published generations of ``districts`` (None: all), or in
    ``generation`` of ``layer``.

    Unified codes are unique (they start with their district's code); department codes are unique
    within their layer and district, so when the same code exists in several the caller must name
    the layer (and the district).
    """
    with session_scope() as session:
        if layer is not None and generation is not None:
            district = _district_of_grid(code, districts)
            gens = [repos.grids.resolve_generation(session, layer, generation, district=district)]
        else:
            published = repos.grids.published_generations(session, districts)
            gens = [
                repos.grids.generation_row(session, gid)
                for (_, key), gid in sorted(published.items())
                if layer is None or key == layer
            ]
        found = []
        for gen in gens:
            grids = repos.grids.read_grids(session, generation_id=gen["id"], codes=[code])
            found += [(gen, row) for _, row in grids.iterrows()]
        if not found:
            raise NotFound(f"code: no grid {code!r} in the published layers", field="code")
        if len({(g["layer_key"], g["district_code"]) for g, _ in found}) > 1:
            where = sorted({f"{g['layer_key']}@{g['district_code']}" for g, _ in found})
            raise BadInput(
                f"layer: grid code {code!r} exists in several layers ({', '.join(where)}); "
                "name one (and its district)",
                field="layer",
            )
        gen, row = found[0]
        names = repos.district.admin_names(
            session, [c for c in (row["community_code"], row["street_code"]) if c]
        )
        roster = roster_for(session, gen["layer_key"], [code], gen["district_code"])
    return {
        "code": row["code"],
        "name": row["name"],
        "layer": gen["layer_key"],
        "district_code": gen["district_code"],
        "generation": gen["number"],
        "generation_status": gen["status"],
        "community_code": row["community_code"],
        "community": names.get(row["community_code"]),
        "street_code": row["street_code"],
        "street": names.get(row["street_code"]),
        "households": None if row["households"] is None else int(row["households"]),
        "area_m2": round(float(row["area_m2"]), 1),
        "duplicates": len(found) - 1,
        "roster": roster,
        "geometry": row.geometry,
    }


def _district_of_grid(code: str, districts: Sequence[str] | None) -> str:
    """The district whose generation a grid code is looked up in: a unified code's own (its
    first six digits), else the one district readable."""
    readable = list(districts) if districts is not None else list(district_profiles.profiles())
    if code[:6] in readable:
        return code[:6]
    if len(readable) != 1:
        raise BadInput(
            "district: a generation number belongs to one district; name it", field="district"
        )
    return readable[0]


def admin_areas(
    level: str | None = None, parent: str | None = None, districts: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """Admin areas (of one level, under one parent) of ``districts`` (None: every district),
    those known by name and code only (no outline yet: a None geometry) included."""
    if level is not None and level not in ("district", "street", "community"):
        raise BadInput(
            f"level: must be district, street or community, not {level!r}", field="level"
        )
    with session_scope() as session:
        return repos.district.read_admin_areas(
            session, level=level, parent=parent, districts=districts, outlined=False
        )


def read_limits(upload_limits: bool = True) -> Any:
    """The :class:`~geo_grid.io.ReadLimits` a file is read under: the ``upload_*`` and
    ``geometry_max_vertices`` settings for what arrives over HTTP (``upload_limits``), none for
    the operator's own files on the command line (a 66 MB national layer is theirs to check)."""
    from geo_grid.io import ReadLimits

    if not upload_limits:
        most = sys.maxsize
        return ReadLimits(
            max_bytes=most, max_features=most, max_vertices=most, max_feature_vertices=most,
            max_unzipped_bytes=most, max_zip_ratio=math.inf, max_zip_members=most,
        )  # fmt: skip
    settings = get_settings()
    return ReadLimits(
        max_bytes=settings.upload_max_bytes,
        max_features=settings.upload_max_features,
        max_vertices=settings.upload_max_vertices,
        max_feature_vertices=settings.geometry_max_vertices,
        max_unzipped_bytes=settings.upload_max_unzipped_bytes,
        max_zip_ratio=settings.upload_max_zip_ratio,
    )


def read_file(path: Path | str, *, upload_limits: bool = True, **options: Any) -> gpd.GeoDataFrame:
    """:func:`geo_grid.io.read_layer` under :func:`read_limits`, unpacking zips under the
    process's scratch folder: how every file a user hands in is read (imports, checked files and
    their parents, plan imports). The API's uploads are held to the upload limits (the default);
    the CLI reads the operator's own files with ``upload_limits=False``. ``options`` are
    :func:`~geo_grid.io.read_layer`'s."""
    from geo_grid.io import read_layer

    limits = read_limits(upload_limits)
    return read_layer(path, limits=limits, tmp_dir=scratch.process_dir(), **options)


def import_layer(
    path: Path | str,
    *,
    layer: str,
    district: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    households_field: str | None = None,
    author: str | None = None,
    note: str | None = None,
    invalid: str = "refuse",
    label: str | None = None,
    upload_limits: bool = True,
) -> dict[str, Any]:
    """Read a file and store it as a new DRAFT generation of ``layer`` in ``district`` (None: the
    store's only district), in one transaction (areas measured in the district's local CRS).

    The file is fully read and validated before the transaction starts, so bad input stores nothing.
    The CLI and the HTTP upload both come here: the file must lie in China, and an upload is held
    to the ``upload_*`` limits of the settings (the CLI's own files, ``upload_limits=False``, are
    not). Invalid polygons are refused (``invalid="refuse"``), repaired
    (``"make_valid"``) or, for a department layer brought in to have its defects found by the
    coverage checks, kept as drawn (``"keep"``; a unified layer must be valid whatever is asked).
    ``label`` is how messages name the file (an upload's client file name).
    """
    from geo_grid.io import CHINA_EXTENT

    label = str(path) if label is None else label
    grids = read_file(
        path,
        crs=crs,
        encoding=encoding,
        code_field=code_field,
        name_field=name_field,
        households_field=households_field,
        invalid=invalid,
        within=CHINA_EXTENT,
        label=label,
        upload_limits=upload_limits,
    )
    # the file is read and checked first: its errors are named before the store is asked
    profile = district_profiles.pick(None, district)
    if layer == "unified":
        bad = grids.loc[~grids.geometry.is_valid, "code"].tolist()
        if bad:
            raise BadInput(
                f"{label}: unified grids must be valid geometries; invalid: {', '.join(map(str, bad[:5]))}"
                " (run `geo-grid fix` first)",
                field="geometry",
            )
        badcode = grids.loc[~grids["code"].astype(str).str.fullmatch(r"[0-9]{15}"), "code"].tolist()
        if badcode:
            raise BadInput(
                f"{label}: unified grid codes are 15 digits (community code + 3-digit sequence); "
                f"bad: {', '.join(map(str, badcode[:5]))}",
                field="code",
            )
        elsewhere = grids.loc[~grids["code"].astype(str).str.startswith(profile.code), "code"]
        if len(elsewhere):
            raise BadInput(
                f"{label}: unified grid codes of {profile.name} start with {profile.code}; "
                f"not: {', '.join(map(str, elsewhere.tolist()[:5]))}",
                field="code",
            )
    grids["area_m2"] = area_m2(grids, profile.local_crs)
    keep = {"code", "name", "households", "community_code", "street_code", "geometry", "area_m2"}
    extra = [c for c in grids.columns if c not in keep]
    grids["properties"] = (
        grids[extra].astype(object).where(grids[extra].notna(), None).to_dict("records")
        if extra
        else [{}] * len(grids)
    )
    with session_scope() as session:
        gid = repos.grids.create_generation(
            session, layer=layer, district=profile.code, author=author, note=note,
            source=Path(label).name,
        )  # fmt: skip
        n = repos.grids.insert_grids(session, gid, layer, grids)
        gen = repos.grids.generation_row(session, gid)
    return {
        "layer": layer,
        "district_code": profile.code,
        "generation": gen["number"],
        "generation_id": gid,
        "status": "draft",
        "grids": n,
    }


def export_layer(
    out: Path | str,
    *,
    layer: str,
    district: str,
    generation: int | None = None,
    fmt: str | None = None,
) -> dict[str, Any]:
    """Write one district's generation of a layer (its published one by default) to a file."""
    from geo_grid.io import write_layer

    gens, grids = layer_grids(layer, districts=[district], generation=generation)
    grids = grids.drop(columns=["id", "properties", "district_code"], errors="ignore")
    number = gens[0]["number"]
    path = write_layer(grids, out, fmt=fmt, layer_name=f"{layer}_g{number}")
    return {"layer": layer, "district_code": district, "generation": number,
            "grids": len(grids), "path": str(path)}  # fmt: skip


def publish(layer: str, generation: int, *, district: str) -> dict[str, Any]:
    """Publish a draft generation of ``layer`` in ``district``; that district's published one is
    retired, in one transaction (no other district's rows are touched)."""
    with session_scope() as session:
        gen = repos.grids.resolve_generation(session, layer, generation, district=district)
        retired = repos.grids.publish_generation(session, gen["id"])
    index.invalidate()  # this process sees the new generation at once; others within a second
    return {"layer": layer, "district_code": district, "published": generation,
            "retired_generation_id": retired}  # fmt: skip
