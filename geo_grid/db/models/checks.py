"""Models of stored coverage checks and 多网合一 merges.

Mirrors migration ``0005_checks_crosswalk``. A check of a generation is stored once per
(generation, parameters): generations never change once written, so the stored defects stay true
and ``GET /api/v1/layers/{layer}/checks`` answers without recomputing. A merge stores its run
(parameters, conformance, which generations it related) and the crosswalk rows, keyed by the base
(unified) generation and each department generation, so a redraw of either side gets its own rows.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from geo_grid.db.models.store import SRID, Base, empty_list, empty_object, now_default

__all__ = ["CoverageCheck", "CoverageDefect", "CrosswalkRow", "MergeRun"]


class CoverageCheck(Base):
    """One check of one generation with one set of parameters (``params_key``) and its summary."""

    __tablename__ = "coverage_check"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), index=True
    )
    layer_key: Mapped[str] = mapped_column(ForeignKey("layer.key"))
    params_key: Mapped[str] = mapped_column(Text)
    params: Mapped[dict] = empty_object()
    features: Mapped[int] = mapped_column(Integer)
    valid: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[dict] = empty_object()
    elapsed_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime | None] = now_default()
    __table_args__ = (
        UniqueConstraint("generation_id", "params_key", name="coverage_check_generation_params"),
    )


class CoverageDefect(Base):
    """One defect of a stored check (geometry: polygon, point for an invalid ring, or none)."""

    __tablename__ = "coverage_defect"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    check_id: Mapped[int] = mapped_column(
        ForeignKey("coverage_check.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    ids: Mapped[list[str]] = mapped_column(ARRAY(Text))
    area_m2: Mapped[float | None] = mapped_column(Float)
    width_m: Mapped[float | None] = mapped_column(Float)
    parent_code: Mapped[str | None] = mapped_column(String(64))
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=False), nullable=True)


class MergeRun(Base):
    """One 多网合一 merge: the generations related, parameters, conformance and proposed draft."""

    __tablename__ = "merge_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_generation_id: Mapped[int] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), index=True
    )
    dept_generations: Mapped[dict]
    params: Mapped[dict] = empty_object()
    conformance: Mapped[list] = empty_list()
    summary: Mapped[dict] = empty_object()
    proposed_generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("generation.id", ondelete="SET NULL")
    )
    author: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = now_default()


class CrosswalkRow(Base):
    """A unified grid against a department grid it overlaps, with the share of area both ways."""

    __tablename__ = "crosswalk"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    base_generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id", ondelete="CASCADE"))
    dept_generation_id: Mapped[int] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), index=True
    )
    merge_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("merge_run.id", ondelete="SET NULL")
    )
    unified_code: Mapped[str] = mapped_column(String(64))
    layer_key: Mapped[str] = mapped_column(ForeignKey("layer.key"))
    dept_code: Mapped[str] = mapped_column(String(64))
    overlap_m2: Mapped[float] = mapped_column(Float)
    share_of_unified: Mapped[float] = mapped_column(Float)
    share_of_dept: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        Index("crosswalk_base_code", "base_generation_id", "unified_code"),
        Index("crosswalk_dept_code", "dept_generation_id", "dept_code"),
    )
