"""Accounts, API keys and the personal-data read log: the administrator's side of access."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PrincipalDep
from api.deps import JsonBody
from api.guard import GuardedRoute
from geo_grid.access import KEY_ROLES, NAME_PATTERN, SCOPE_PATTERN, Role
from geo_grid.services import access

router = APIRouter(prefix="/api/v1", tags=["access"], route_class=GuardedRoute)


#: what the accounts service reads (geo_grid.access), declared so the document says it
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Scope = Annotated[
    str | None, Field(pattern=SCOPE_PATTERN, description="level:code (default: the district)")
]


class UserIn(JsonBody):
    username: Name = Field(examples=["li.ming"])
    password: str = Field(min_length=8, max_length=200)
    role: Role = Field(examples=["dispatcher"])
    scope: Scope = Field(None, examples=["street:320113003"])
    person_id: str | None = Field(None, max_length=32, description="grid workers: roster person")


class UserOut(BaseModel):
    username: str
    role: str
    scope_level: str
    scope_code: str
    person_id: str | None
    active: bool
    created_at: datetime


class UserList(BaseModel):
    data: list[UserOut]
    count: int


class UserPatch(JsonBody):
    active: bool


class KeyIn(JsonBody):
    name: Name = Field(examples=["fixmystreet"])
    role: Literal[KEY_ROLES] = "open311_client"  # type: ignore[valid-type]
    scope: Scope = None


class KeyOut(BaseModel):
    name: str
    prefix: str
    role: str
    scope_level: str
    scope_code: str
    active: bool
    created_at: datetime
    last_used_at: datetime | None


class NewKeyOut(KeyOut):
    key: str = Field(description="Shown once: only its hash is kept")


class KeyList(BaseModel):
    data: list[KeyOut]
    count: int


class ReadOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    at: datetime
    principal: str
    role: str
    case_ids: list[int]
    fields: list[str]
    purpose: str


class ReadList(BaseModel):
    data: list[ReadOut]
    count: int


@router.get("/users", response_model=UserList)
def list_users() -> Any:
    """List every account with its role, area and whether it is active.

    Passwords are never shown (only their Argon2 hashes are kept)."""
    data = access.list_users()
    return {"data": data, "count": len(data)}


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn) -> Any:
    """Create an account with a role and an area (district, street or community).

    A grid worker names their roster person (``person_id``): their grids come from the roster. The
    password needs 8 characters or more; a taken username is a 409."""
    return access.create_user(
        body.username, body.password, body.role, scope=body.scope, person_id=body.person_id
    )


@router.patch("/users/{username}", response_model=UserOut)
def patch_user(
    username: Annotated[str, Path(max_length=64)], body: UserPatch, principal: PrincipalDep
) -> Any:
    """Disable (or re-enable) an account.

    Logins stop at once, its tokens are refused within 30 s. An admin may not disable itself, nor
    anyone the last active admin (409)."""
    return access.set_user_active(username, body.active, by=principal)


@router.get("/api-keys", response_model=KeyList)
def list_keys() -> Any:
    """List the API keys of systems (Open311 clients, a 12345 bridge).

    Only a prefix of each key is shown: the key itself was shown once, when it was made."""
    data = access.list_api_keys()
    return {"data": data, "count": len(data)}


@router.post("/api-keys", response_model=NewKeyOut, status_code=status.HTTP_201_CREATED)
def create_key(body: KeyIn) -> Any:
    """Make an API key for a system; the answer shows the key once.

    Only its hash is stored. The system sends it as ``X-API-Key`` (Open311 clients may also send the
    spec's ``api_key`` field)."""
    key, row = access.create_api_key(body.name, body.role, scope=body.scope)
    return {**row, "key": key}


@router.delete("/api-keys/{name}", response_model=KeyOut)
def revoke_key(name: Annotated[str, Path(max_length=64)]) -> Any:
    """Revoke an API key: requests with it are refused from now on.

    The row is kept (disabled) so the personal-data read log still names the system."""
    return access.set_api_key_active(name, False)


@router.get("/audit/personal-data", response_model=ReadList)
def personal_data_reads(
    case_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    principal: Annotated[str | None, Query(max_length=80, examples=["user:li.ming"])] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    """Who read reporters' names and phones: newest first, by case or by reader.

    Every unmasked read by a dispatcher, an administrator or the case's grid worker is logged here,
    append-only (the database refuses UPDATE and DELETE on the log)."""
    data = access.personal_reads(case_id=case_id, principal=principal, limit=limit)
    return {"data": data, "count": len(data)}
