"""The declarative base, the storage SRID and the store's own key/value table.

Everything is stored in CGCS2000 (EPSG:4490, :data:`geo_grid.crs.STORAGE_EPSG`): the migrations fix
it in every geometry column's typmod, so it is a constant of the schema, not a setting. Integrity
that matters to a city is enforced by PostgreSQL itself, not by application code (see each model
module). Schema changes go through Alembic (``geo_grid/db/migrations``); nothing calls
``create_all``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geo_grid.crs import STORAGE_EPSG

__all__ = ["SRID", "Base", "Meta"]

#: The SRID of every stored geometry (the column typmods of the migrations say the same).
SRID = STORAGE_EPSG


class Base(DeclarativeBase):
    """Declarative base; Alembic reads ``Base.metadata``."""


class Meta(Base):
    """Key/value facts about the store (e.g. which demo seed is loaded)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
