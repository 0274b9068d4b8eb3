"""Models of the planner's workspace routes: undo, the draft's grids, the roster a plan adds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["RosterEntryIn", "RosterFormOut", "RosterIn", "RosterPerson", "UndoOut"]

#: Roles a plan may put on duty (:data:`geo_grid.plans.PLAN_ROSTER_ROLES`).
RosterRole = Literal["grid_leader", "grid_worker", "police", "dept_member"]


class UndoOut(BaseModel):
    plan: int
    seq: int = Field(description="The log's new ``undo`` edit.")
    undone: int = Field(description="The edit taken back (its ``seq``).")
    op: str = Field(description="What the edit taken back was (split, merge, ...).")
    restored: list[str] = Field(description="Grids put back as they were before the edit.")
    removed: list[str] = Field(description="Grids the edit had added, gone again.")


class RosterEntryIn(BaseModel):
    person_id: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")
    role: RosterRole


class RosterIn(BaseModel):
    entries: list[RosterEntryIn] = Field(
        max_length=50, description="Everyone the plan puts on duty in the grid; [] clears it."
    )


class RosterPerson(BaseModel):
    person_id: str
    name: str
    role: str
    grid_code: str | None = Field(None, description="Where a candidate is on duty now.")


class RosterFormOut(BaseModel):
    plan: int
    grid: str
    name: str | None
    community_code: str | None
    stored: list[RosterPerson] = Field(description="On the roster of the grid's code already.")
    planned: list[RosterPerson] = Field(description="Put on duty by the plan, from its publish.")
    candidates: list[RosterPerson] = Field(
        description="People on duty in the community's grids: the grid's own first, then those "
        "of the grid it was split from."
    )
    roles: list[str]
    on_duty: int = Field(description="People on duty in the grid once the plan is published.")
