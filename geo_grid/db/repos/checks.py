"""Storage of coverage checks, merge runs and the 多网合一 crosswalk: the SQL behind
:mod:`geo_grid.services.checks`.

Like every repository (:mod:`geo_grid.db.repos`), every function takes ``session`` first and never commits. A check is
keyed by (generation, parameters): a generation's grids never change once written, so the stored
defects are the answer for as long as the generation exists (rows cascade when it is deleted).
Crosswalk rows are keyed by base generation × department generation and are replaced as a block
when the same pair is merged again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.db.repos._sql import copy_frame, read_table_frame

__all__ = [
    "delete_check",
    "find_check",
    "insert_defects",
    "insert_check",
    "insert_merge_run",
    "latest_check",
    "read_crosswalk",
    "read_defects",
    "replace_crosswalk",
    "set_merge_proposed",
]

DEFECT_COLUMNS = ("check_id", "seq", "kind", "ids", "area_m2", "width_m", "parent_code", "geom")
CROSSWALK_COLUMNS = (
    "base_generation_id",
    "dept_generation_id",
    "merge_run_id",
    "unified_code",
    "layer_key",
    "dept_code",
    "overlap_m2",
    "share_of_unified",
    "share_of_dept",
)


def _text_array(values: Sequence[str]) -> str:
    """A PostgreSQL ``text[]`` literal with every element quoted (COPY takes literals).

    >>> _text_array(['A', 'B"1'])
    '{"A","B\\\\"1"}'
    """
    quoted = (str(v).replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


# ---------------------------------------------------------------------------------- checks
_CHECK_SELECT = """SELECT c.id, c.generation_id, c.layer_key, c.params, c.features, c.valid,
                          c.summary, c.elapsed_s, c.created_at, g.number AS generation,
                          g.status AS generation_status
                   FROM coverage_check c JOIN generation g ON g.id = c.generation_id"""


def find_check(session: Session, *, generation_id: int, params_key: str) -> dict[str, Any] | None:
    """The stored check of a generation with these parameters, or None."""
    sql = _CHECK_SELECT + " WHERE c.generation_id = :g AND c.params_key = :p"
    row = session.execute(text(sql), {"g": generation_id, "p": params_key}).mappings().first()
    return dict(row) if row else None


def latest_check(session: Session, *, generation_id: int) -> dict[str, Any] | None:
    """The most recent stored check of a generation (any parameters), or None."""
    sql = _CHECK_SELECT + " WHERE c.generation_id = :g ORDER BY c.created_at DESC, c.id DESC"
    row = session.execute(text(sql), {"g": generation_id}).mappings().first()
    return dict(row) if row else None


def delete_check(session: Session, *, generation_id: int, params_key: str) -> None:
    """Forget the stored check of a generation with these parameters (its defects cascade)."""
    session.execute(
        text("DELETE FROM coverage_check WHERE generation_id = :g AND params_key = :k"),
        {"g": generation_id, "k": params_key},
    )


def insert_check(
    session: Session,
    *,
    generation_id: int,
    layer: str,
    params_key: str,
    params: dict[str, Any],
    features: int,
    valid: bool,
    summary: dict[str, Any],
    elapsed_s: float | None = None,
) -> int | None:
    """Store a check's header; returns its id, or None when another writer stored the same
    (generation, parameters) first (the caller then reads that one)."""
    return session.execute(
        text(
            """INSERT INTO coverage_check
                   (generation_id, layer_key, params_key, params, features, valid, summary,
                    elapsed_s)
               VALUES (:g, :k, :pk, CAST(:p AS jsonb), :n, :v, CAST(:s AS jsonb), :t)
               ON CONFLICT (generation_id, params_key) DO NOTHING
               RETURNING id"""
        ),
        {
            "g": generation_id,
            "k": layer,
            "pk": params_key,
            "p": json.dumps(params),
            "n": features,
            "v": valid,
            "s": json.dumps(summary),
            "t": elapsed_s,
        },
    ).scalar()


def insert_defects(session: Session, check_id: int, defects: gpd.GeoDataFrame) -> int:
    """COPY a report's defects (columns of :data:`geo_grid.coverage.DEFECT_COLUMNS`, EPSG:4490)."""
    if len(defects) == 0:
        return 0
    frame = pd.DataFrame(
        {
            "check_id": check_id,
            "seq": np.arange(len(defects)),
            "kind": defects["kind"].to_numpy(),
            "ids": [_text_array(ids) for ids in defects["ids"]],
            "area_m2": defects["area_m2"].to_numpy(dtype=float),
            "width_m": defects["width_m"].to_numpy(dtype=float),
            "parent_code": [
                None if p is None or (isinstance(p, float) and np.isnan(p)) else str(p)
                for p in defects["parent"]
            ],
            "geom": [None if g is None or g.is_empty else g for g in defects.geometry.to_numpy()],
        }
    )
    return copy_frame(session, "coverage_defect", frame, DEFECT_COLUMNS)


def read_defects(session: Session, check_id: int) -> gpd.GeoDataFrame:
    """A stored check's defects in their original order, as the report's columns."""
    sql = """SELECT kind, ids, area_m2, width_m, parent_code AS parent, ST_AsBinary(geom) AS geom
             FROM coverage_defect WHERE check_id = :c ORDER BY seq"""
    return read_table_frame(session, sql, {"c": check_id})


# ---------------------------------------------------------------------------------- merges
def insert_merge_run(
    session: Session,
    *,
    base_generation_id: int,
    dept_generations: dict[str, int],
    params: dict[str, Any],
    conformance: list[dict[str, Any]],
    summary: dict[str, Any],
    author: str | None = None,
) -> int:
    """Store one merge's header (its crosswalk rows go in with :func:`replace_crosswalk`)."""
    return session.execute(
        text(
            """INSERT INTO merge_run
                   (base_generation_id, dept_generations, params, conformance, summary, author)
               VALUES (:b, CAST(:d AS jsonb), CAST(:p AS jsonb), CAST(:c AS jsonb),
                       CAST(:s AS jsonb), :a)
               RETURNING id"""
        ),
        {
            "b": base_generation_id,
            "d": json.dumps(dept_generations),
            "p": json.dumps(params),
            "c": json.dumps(conformance, ensure_ascii=False),
            "s": json.dumps(summary, ensure_ascii=False),
            "a": author,
        },
    ).scalar_one()


def set_merge_proposed(session: Session, merge_run_id: int, generation_id: int) -> None:
    """Record the draft generation that holds a merge's proposed layer."""
    session.execute(
        text("UPDATE merge_run SET proposed_generation_id = :g WHERE id = :id"),
        {"g": generation_id, "id": merge_run_id},
    )


def replace_crosswalk(
    session: Session,
    *,
    base_generation_id: int,
    dept_generation_id: int,
    merge_run_id: int | None,
    rows: pd.DataFrame,
) -> int:
    """Replace the crosswalk of one base generation × department generation with ``rows``
    (columns unified_code, layer, dept_code, overlap_m2, share_of_unified, share_of_dept)."""
    session.execute(
        text("DELETE FROM crosswalk WHERE base_generation_id = :b AND dept_generation_id = :d"),
        {"b": base_generation_id, "d": dept_generation_id},
    )
    frame = pd.DataFrame(
        {
            "base_generation_id": base_generation_id,
            "dept_generation_id": dept_generation_id,
            "merge_run_id": merge_run_id,
            "unified_code": rows["unified_code"].astype(str).to_numpy(),
            "layer_key": rows["layer"].astype(str).to_numpy(),
            "dept_code": rows["dept_code"].astype(str).to_numpy(),
            "overlap_m2": rows["overlap_m2"].to_numpy(dtype=float),
            "share_of_unified": rows["share_of_unified"].to_numpy(dtype=float),
            "share_of_dept": rows["share_of_dept"].to_numpy(dtype=float),
        }
    )
    return copy_frame(session, "crosswalk", frame, CROSSWALK_COLUMNS)


def read_crosswalk(
    session: Session, *, base_generation_id: int, unified_code: str
) -> list[dict[str, Any]]:
    """Crosswalk rows of one unified grid in one base generation, for every department
    generation merged against it, with that generation's number and status and the merge time."""
    sql = """SELECT c.layer_key AS layer, c.dept_generation_id, g.number AS dept_generation,
                    g.status AS dept_generation_status, c.dept_code, c.overlap_m2,
                    c.share_of_unified, c.share_of_dept, c.merge_run_id, m.created_at AS merged_at
             FROM crosswalk c
             JOIN generation g ON g.id = c.dept_generation_id
             LEFT JOIN merge_run m ON m.id = c.merge_run_id
             WHERE c.base_generation_id = :b AND c.unified_code = :u
             ORDER BY c.layer_key, c.dept_generation_id, c.overlap_m2 DESC, c.dept_code"""
    rows = session.execute(text(sql), {"b": base_generation_id, "u": unified_code}).mappings()
    return [dict(r) for r in rows]
