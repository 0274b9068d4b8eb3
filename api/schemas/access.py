"""Accounts, API keys, the personal-data read log and logging in: request and answer bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.body import JsonBody
from geo_grid.access import KEY_ROLES, NAME_PATTERN, SCOPE_PATTERN, Role

__all__ = [
    "KeyIn",
    "KeyList",
    "KeyOut",
    "MeOut",
    "NewKeyOut",
    "PageLinkOut",
    "ReadList",
    "ReadOut",
    "TokenOut",
    "UserIn",
    "UserList",
    "UserOut",
    "UserPatch",
]


#: what the accounts service reads (geo_grid.access), declared so the document says it
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Scope = Annotated[
    str | None, Field(pattern=SCOPE_PATTERN, description="level:code (default: the district)")
]


class UserIn(JsonBody):
    username: Name = Field(examples=["li.ming"])
    password: str = Field(min_length=8, max_length=200)
    role: Role = Field(examples=["dispatcher"])
    scope: Scope = Field(None, examples=["street:110101001", "city:1101", "all"])
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


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str
    scope: str


class PageLinkOut(BaseModel):
    href: str
    label: str


class MeOut(BaseModel):
    name: str
    kind: str
    role: str
    role_zh: str
    scope: str
    grids: list[str]
    pages: list[PageLinkOut] = Field(
        description="The pages this role may open: the case and plan pages' header menu, the "
        "map pages' 页面 menu (from the same role table)."
    )
