"""Accounts, API keys and the personal-data read log: the administrator's side of access."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.guard import GuardedRoute
from geo_grid.services import access

router = APIRouter(prefix="/api/v1", tags=["access"], route_class=GuardedRoute)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64, examples=["li.ming"])
    password: str = Field(min_length=8, max_length=200)
    role: str = Field(examples=["dispatcher"])
    scope: str | None = Field(None, max_length=40, examples=["street:320113003"])
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


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=64, examples=["fixmystreet"])
    role: str = "open311_client"
    scope: str | None = Field(None, max_length=40)


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
    data = access.list_users()
    return {"data": data, "count": len(data)}


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn) -> Any:
    return access.create_user(
        body.username, body.password, body.role, scope=body.scope, person_id=body.person_id
    )


@router.patch("/users/{username}", response_model=UserOut)
def patch_user(username: Annotated[str, Path(max_length=64)], body: UserPatch) -> Any:
    """Disable (or re-enable) an account: its tokens stop at their expiry, logins at once."""
    return access.set_user_active(username, body.active)


@router.get("/api-keys", response_model=KeyList)
def list_keys() -> Any:
    data = access.list_api_keys()
    return {"data": data, "count": len(data)}


@router.post("/api-keys", response_model=NewKeyOut, status_code=status.HTTP_201_CREATED)
def create_key(body: KeyIn) -> Any:
    key, row = access.create_api_key(body.name, body.role, scope=body.scope)
    return {**row, "key": key}


@router.delete("/api-keys/{name}", response_model=KeyOut)
def revoke_key(name: Annotated[str, Path(max_length=64)]) -> Any:
    return access.set_api_key_active(name, False)


@router.get("/audit/personal-data", response_model=ReadList)
def personal_data_reads(
    case_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    principal: Annotated[str | None, Query(max_length=80, examples=["user:li.ming"])] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    """Who read reporters' names and phones: newest first, by case or by reader."""
    data = access.personal_reads(case_id=case_id, principal=principal, limit=limit)
    return {"data": data, "count": len(data)}
