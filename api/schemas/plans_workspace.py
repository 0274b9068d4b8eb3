"""Models of the planner's workspace routes: undo, the draft's grids, the roster a plan adds."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas.body import JsonBody

__all__ = [
    "NewPersonIn",
    "RosterEntryIn",
    "RosterFormOut",
    "RosterIn",
    "RosterPerson",
    "RosterRoleOut",
    "UndoOut",
]

#: A role key of the district's roster (the service checks it is one of the district's roles on
#: duty: :data:`geo_grid.plans.PLAN_DUTIES`).
RoleKey = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]


class UndoOut(BaseModel):
    plan: int
    seq: int = Field(description="The log's new ``undo`` edit.")
    undone: int = Field(description="The edit taken back (its ``seq``).")
    op: str = Field(description="What the edit taken back was (split, merge, ...).")
    restored: list[str] = Field(description="Grids put back as they were before the edit.")
    removed: list[str] = Field(description="Grids the edit had added, gone again.")


class RosterEntryIn(JsonBody):
    person_id: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")
    role: RoleKey


class NewPersonIn(JsonBody):
    """A person on no roster yet, stored as a person of the plan's district with the roster."""

    name: str = Field(min_length=1, max_length=32, description="姓名 (1-32 characters).")
    phone: str = Field(
        min_length=5, max_length=32, description="电话: digits, +, - and spaces (no page shows it)."
    )
    role: RoleKey


class RosterIn(JsonBody):
    entries: list[RosterEntryIn] = Field(
        max_length=50, description="Everyone the plan puts on duty in the grid; [] clears it."
    )
    new_people: list[NewPersonIn] = Field(
        default_factory=list,
        max_length=10,
        description="People added to the district and put on duty in the grid with the entries, "
        "in one transaction.",
    )


class RosterRoleOut(BaseModel):
    key: str
    name: str = Field(description="The role's Chinese name (网格员 …).")


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
    carried: list[RosterPerson] = Field(
        default_factory=list,
        description="On the roster of grids the plan merged into this one or recoded to it "
        "(``grid_code``: where they are now): they go with the code unless ``chosen``.",
    )
    chosen: bool = Field(
        False, description="The planner set this grid's roster: ``planned`` is whom it gets."
    )
    planned: list[RosterPerson] = Field(description="Put on duty by the plan, from its publish.")
    candidates: list[RosterPerson] = Field(
        description="People on duty in the community's grids: the grid's own first, then those "
        "of the grid it was split from."
    )
    roles: list[RosterRoleOut] = Field(description="The district's roles on duty.")
    on_duty: int = Field(description="People on duty in the grid once the plan is published.")
