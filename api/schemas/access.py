"""Accounts, API keys, the personal-data read log and logging in: request and answer bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "KeyIn",
    "KeyList",
    "KeyOut",
    "MeOut",
    "NewKeyOut",
    "ReadList",
    "ReadOut",
    "TokenOut",
    "UserIn",
    "UserList",
    "UserOut",
    "UserPatch",
]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64, examples=["li.ming"])
    password: str = Field(min_length=8, max_length=200)
    role: str = Field(examples=["dispatcher"])
    scope: str | None = Field(
        None, max_length=40, examples=["street:110101001", "city:1101", "all"]
    )
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


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str
    scope: str


class MeOut(BaseModel):
    name: str
    kind: str
    role: str
    role_zh: str
    scope: str
    grids: list[str]
