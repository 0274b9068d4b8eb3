"""Layer use cases: list, read, import, export and publish grid layers. One transaction each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd

from geo_grid import scratch
from geo_grid.access import mask_phone
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, NotFound
from geo_grid.measure import area_m2
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
    "roster_for",
]


def list_layers() -> list[dict[str, Any]]:
    with session_scope() as session:
        return repos.grids.list_layers(session)


def layer_grids(
    layer: str,
    *,
    generation: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> tuple[dict[str, Any], gpd.GeoDataFrame]:
    """A layer's grids (published generation by default) and the generation they belong to."""
    with session_scope() as session:
        gen = repos.grids.resolve_generation(session, layer, generation)
        grids = repos.grids.read_grids(session, generation_id=gen["id"], bbox=bbox)
    return gen, grids


def roster_for(session, layer: str, codes: list[str]) -> list[dict[str, Any]]:
    """The active roster of some grids of a layer, phones masked (what the grid page shows)."""
    frame = repos.district.read_roster(session, layer=layer, codes=codes)
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
    code: str, *, layer: str | None = None, generation: int | None = None
) -> dict[str, Any]:
    """One grid by code in the published generation (or ``generation`` of ``layer``).

    Unified codes are unique; department codes are unique within their layer, so when the same
    code exists in several department layers the caller must name the layer.
    """
    with session_scope() as session:
        if layer is not None:
            gens = [repos.grids.resolve_generation(session, layer, generation)]
        else:
            published = repos.grids.published_generations(session).values()
            gens = [repos.grids.generation_row(session, gid) for gid in published]
        found = []
        for gen in gens:
            grids = repos.grids.read_grids(session, generation_id=gen["id"], codes=[code])
            found += [(gen, row) for _, row in grids.iterrows()]
        if not found:
            raise NotFound(f"code: no grid {code!r} in the published layers", field="code")
        if len({g["layer_key"] for g, _ in found}) > 1:
            layers = sorted({g["layer_key"] for g, _ in found})
            raise BadInput(
                f"layer: grid code {code!r} exists in several layers ({', '.join(layers)}); name one",
                field="layer",
            )
        gen, row = found[0]
        names = repos.district.admin_names(
            session, [c for c in (row["community_code"], row["street_code"]) if c]
        )
        roster = roster_for(session, gen["layer_key"], [code])
    return {
        "code": row["code"],
        "name": row["name"],
        "layer": gen["layer_key"],
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


def admin_areas(level: str | None = None, parent: str | None = None) -> gpd.GeoDataFrame:
    if level is not None and level not in ("district", "street", "community"):
        raise BadInput(
            f"level: must be district, street or community, not {level!r}", field="level"
        )
    with session_scope() as session:
        return repos.district.read_admin_areas(session, level=level, parent=parent)


def read_file(path: Path | str, **options: Any) -> gpd.GeoDataFrame:
    """:func:`geo_grid.io.read_layer` held to the ``upload_*`` and ``geometry_max_vertices``
    settings, unpacking zips under the process's scratch folder: how every file a user hands in
    is read (imports, checked files and their parents, plan imports), by the CLI and the API alike.
    ``options`` are :func:`~geo_grid.io.read_layer`'s."""
    from geo_grid.io import ReadLimits, read_layer

    settings = get_settings()
    limits = ReadLimits(
        max_bytes=settings.upload_max_bytes,
        max_features=settings.upload_max_features,
        max_vertices=settings.upload_max_vertices,
        max_feature_vertices=settings.geometry_max_vertices,
        max_unzipped_bytes=settings.upload_max_unzipped_bytes,
        max_zip_ratio=settings.upload_max_zip_ratio,
    )
    return read_layer(path, limits=limits, tmp_dir=scratch.process_dir(), **options)


def import_layer(
    path: Path | str,
    *,
    layer: str,
    crs: str | None = None,
    encoding: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    households_field: str | None = None,
    author: str | None = None,
    note: str | None = None,
    invalid: str = "refuse",
    label: str | None = None,
) -> dict[str, Any]:
    """Read a file and store it as a new DRAFT generation of ``layer``, in one transaction.

    The file is fully read and validated before the transaction starts, so bad input stores nothing.
    The CLI and the HTTP upload both come here: the file is held to the ``upload_*`` limits of the
    settings and must lie in China. Invalid polygons are refused (``invalid="refuse"``), repaired
    (``"make_valid"``) or, for a department layer brought in to have its defects found by the
    coverage checks, kept as drawn (``"keep"``; a unified layer must be valid whatever is asked).
    ``label`` is how messages name the file (an upload's client file name).
    """
    from geo_grid.io import CHINA_EXTENT

    settings = get_settings()
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
    )
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
    grids["area_m2"] = area_m2(grids, settings.local_crs)
    keep = {"code", "name", "households", "community_code", "street_code", "geometry", "area_m2"}
    extra = [c for c in grids.columns if c not in keep]
    grids["properties"] = (
        grids[extra].astype(object).where(grids[extra].notna(), None).to_dict("records")
        if extra
        else [{}] * len(grids)
    )
    with session_scope() as session:
        gid = repos.grids.create_generation(
            session, layer=layer, author=author, note=note, source=Path(label).name
        )
        n = repos.grids.insert_grids(session, gid, layer, grids)
        gen = repos.grids.generation_row(session, gid)
    return {
        "layer": layer,
        "generation": gen["number"],
        "generation_id": gid,
        "status": "draft",
        "grids": n,
    }


def export_layer(
    out: Path | str, *, layer: str, generation: int | None = None, fmt: str | None = None
) -> dict[str, Any]:
    from geo_grid.io import write_layer

    gen, grids = layer_grids(layer, generation=generation)
    grids = grids.drop(columns=["id", "properties"], errors="ignore")
    path = write_layer(grids, out, fmt=fmt, layer_name=f"{layer}_g{gen['number']}")
    return {"layer": layer, "generation": gen["number"], "grids": len(grids), "path": str(path)}


def publish(layer: str, generation: int) -> dict[str, Any]:
    """Publish a draft generation; the previous published one is retired, in one transaction."""
    with session_scope() as session:
        gen = repos.grids.resolve_generation(session, layer, generation)
        retired = repos.grids.publish_generation(session, gen["id"])
    index.invalidate()  # this process sees the new generation at once; others within a second
    return {"layer": layer, "published": generation, "retired_generation_id": retired}
