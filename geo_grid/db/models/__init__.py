"""SQLAlchemy 2 + GeoAlchemy2 models: the system of record, one module per part of the store.

:mod:`.store` (the declarative ``Base``, ``SRID`` and the ``meta`` table), :mod:`.grids` (layers,
generations, grids), :mod:`.district` (district profiles, admin areas, buildings, addresses, people, roster),
:mod:`.cases` (the closed loop), :mod:`.checks` (stored checks, merges, the crosswalk),
:mod:`.plans` (redrawing), :mod:`.jobs` (long work taken by workers), :mod:`.gazetteer` (every division of China, names and codes) and :mod:`.access` (accounts, keys, the personal-data read log).

Importing this package registers every table on ``Base.metadata`` (what Alembic's ``env.py``
compares against), and ``from geo_grid.db.models import Case`` works for any model. The repositories
(:mod:`geo_grid.db.repos`) write SQL against these tables; the models themselves are the schema's
description, kept in step with the migrations.
"""

from __future__ import annotations

from geo_grid.db.models.access import (
    ApiKey,
    AppUser,
    LoginBudget,
    LoginFailure,
    PersonalDataRead,
)
from geo_grid.db.models.cases import (
    CASE_CHANNELS,
    CASE_STATUSES,
    PHOTO_PHASES,
    PHOTO_TYPES,
    Case,
    CaseEvent,
    CasePhoto,
    EscalationRecord,
    IdempotencyKey,
    ReportIn,
    RoutingRuleRow,
)
from geo_grid.db.models.checks import CoverageCheck, CoverageDefect, CrosswalkRow, MergeRun
from geo_grid.db.models.district import (
    Address,
    AdminArea,
    Building,
    District,
    Person,
    RosterEntry,
    RosterRole,
)
from geo_grid.db.models.gazetteer import GazetteerEntry
from geo_grid.db.models.grids import Generation, Grid, Layer
from geo_grid.db.models.jobs import JOB_STATUSES, Job
from geo_grid.db.models.plans import (
    PLAN_STATUSES,
    Plan,
    PlanEdit,
    PlanEditGrid,
    PlanRoster,
    PlanRosterGrid,
)
from geo_grid.db.models.store import SRID, Base, Meta

__all__ = [
    "CASE_CHANNELS",
    "CASE_STATUSES",
    "JOB_STATUSES",
    "PHOTO_PHASES",
    "PHOTO_TYPES",
    "PLAN_STATUSES",
    "SRID",
    "Address",
    "AdminArea",
    "ApiKey",
    "AppUser",
    "Base",
    "Building",
    "Case",
    "CaseEvent",
    "CasePhoto",
    "CoverageCheck",
    "CoverageDefect",
    "CrosswalkRow",
    "District",
    "EscalationRecord",
    "GazetteerEntry",
    "Generation",
    "Grid",
    "IdempotencyKey",
    "Job",
    "Layer",
    "LoginBudget",
    "LoginFailure",
    "Meta",
    "MergeRun",
    "Person",
    "PersonalDataRead",
    "Plan",
    "PlanEdit",
    "PlanEditGrid",
    "PlanRoster",
    "PlanRosterGrid",
    "ReportIn",
    "RosterEntry",
    "RosterRole",
    "RoutingRuleRow",
]
