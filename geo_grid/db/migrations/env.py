"""Alembic environment: the URL comes from the caller (geo_grid.db.migrate), never from an ini file."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

import geo_grid.db.access_models  # noqa: F401  (registers the account and key tables)
import geo_grid.db.case_models  # noqa: F401  (registers the case tables)
import geo_grid.db.check_models  # noqa: F401  (registers the check and crosswalk tables)
import geo_grid.db.gazetteer_models  # noqa: F401  (registers the gazetteer table)
import geo_grid.db.plan_models  # noqa: F401  (registers the plan tables)
from geo_grid.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
