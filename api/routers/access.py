"""Accounts, API keys and the personal-data read log: the administrator's side of access."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from api import schemas
from api.auth import PrincipalDep
from api.guard import GuardedRoute
from geo_grid.services import access

router = APIRouter(prefix="/api/v1", tags=["access"], route_class=GuardedRoute)


@router.get("/users", response_model=schemas.UserList)
def list_users() -> Any:
    """List every account with its role, area and whether it is active.

    Passwords are never shown (only their Argon2 hashes are kept)."""
    data = access.list_users()
    return {"data": data, "count": len(data)}


@router.post("/users", response_model=schemas.UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: schemas.UserIn) -> Any:
    """Create an account with a role and an area (district, street or community).

    A grid worker names their roster person (``person_id``): their grids come from the roster. The
    password needs 8 characters or more; a taken username is a 409."""
    return access.create_user(
        body.username, body.password, body.role, scope=body.scope, person_id=body.person_id
    )


@router.patch("/users/{username}", response_model=schemas.UserOut)
def patch_user(
    username: Annotated[str, Path(max_length=64)], body: schemas.UserPatch, principal: PrincipalDep
) -> Any:
    """Disable (or re-enable) an account.

    Logins stop at once, its tokens are refused within 30 s. An admin may not disable itself, nor
    anyone the last active admin (409)."""
    return access.set_user_active(username, body.active, by=principal)


@router.get("/api-keys", response_model=schemas.KeyList)
def list_keys() -> Any:
    """List the API keys of systems (Open311 clients, a 12345 bridge).

    Only a prefix of each key is shown: the key itself was shown once, when it was made."""
    data = access.list_api_keys()
    return {"data": data, "count": len(data)}


@router.post("/api-keys", response_model=schemas.NewKeyOut, status_code=status.HTTP_201_CREATED)
def create_key(body: schemas.KeyIn) -> Any:
    """Make an API key for a system; the answer shows the key once.

    Only its hash is stored. The system sends it as ``X-API-Key`` (Open311 clients may also send the
    spec's ``api_key`` field)."""
    key, row = access.create_api_key(body.name, body.role, scope=body.scope)
    return {**row, "key": key}


@router.delete("/api-keys/{name}", response_model=schemas.KeyOut)
def revoke_key(name: Annotated[str, Path(max_length=64)]) -> Any:
    """Revoke an API key: requests with it are refused from now on.

    The row is kept (disabled) so the personal-data read log still names the system."""
    return access.set_api_key_active(name, False)


@router.get("/audit/personal-data", response_model=schemas.ReadList)
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
