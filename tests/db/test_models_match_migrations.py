"""The models and the migrations describe one schema: Alembic's autogenerate finds nothing to do.

The models are the schema's description for the repositories and ``env.py``; the migrations are what
builds it. A model edited without a migration (or the reverse) would let the two drift apart
silently, so this compares the migrated test database with ``Base.metadata`` the way
``alembic revision --autogenerate`` would (``compare_metadata``, with GeoAlchemy2's filter that
leaves out the spatial indexes and tables PostGIS itself owns).
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers

from geo_grid.db.models import Base
from geo_grid.db.session import get_engine


def test_models_match_the_migrated_schema(database_url):
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": alembic_helpers.include_object},
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "\n".join(map(repr, diff))
