"""The declarative base, the storage SRID and the store's own key/value table.

Everything is stored in CGCS2000 (EPSG:4490, :data:`geo_grid.crs.STORAGE_EPSG`): the migrations fix
it in every geometry column's typmod, so it is a constant of the schema, not a setting. Integrity
that matters to a city is enforced by PostgreSQL itself, not by application code (see each model
module). Schema changes go through Alembic (``geo_grid/db/migrations``); nothing calls
``create_all``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

from geo_grid.crs import STORAGE_EPSG

__all__ = ["SRID", "Base", "Meta", "empty_list", "empty_object", "now_default"]

#: The SRID of every stored geometry (the column typmods of the migrations say the same).
SRID = STORAGE_EPSG


class Base(DeclarativeBase):
    """Declarative base; Alembic reads ``Base.metadata``.

    The type map says once how the store keeps a Python type, so a column annotated
    ``Mapped[datetime]`` needs no type of its own: every moment is a ``timestamptz`` (times are
    compared across districts and shown in Beijing time, so none is stored without its zone), and
    every ``dict`` or ``list`` is JSONB.
    """

    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict: JSONB,
        list: JSONB,
    }


def now_default(**kwargs: Any) -> MappedColumn[Any]:
    """A moment PostgreSQL fills in when the row is written (``DEFAULT now()``), so the stamp is
    the database's clock and one transaction's rows share it; ``kwargs`` go to ``mapped_column``."""
    return mapped_column(server_default=func.now(), **kwargs)


def empty_object() -> MappedColumn[Any]:
    """A JSONB object that is ``{}`` when the writer gives none (never NULL: readers index it)."""
    return mapped_column(server_default=text("'{}'::jsonb"))


def empty_list() -> MappedColumn[Any]:
    """A JSONB array that is ``[]`` when the writer gives none (never NULL: readers iterate it)."""
    return mapped_column(server_default=text("'[]'::jsonb"))


class Meta(Base):
    """Key/value facts about the store (e.g. which demo seed is loaded)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = now_default()
