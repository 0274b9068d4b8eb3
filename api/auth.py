"""Who is calling: tokens, API keys and the browser session, resolved once per request.

Credentials, in the order they are looked for:

1. ``Authorization: Bearer <JWT>`` from ``POST /auth/token`` (OAuth2 password flow), signed HS256
   with ``GEO_GRID_AUTH_SECRET`` and valid for ``GEO_GRID_AUTH_TOKEN_MINUTES``;
2. ``X-API-Key: <key>`` for systems (a 12345 bridge, an Open311 client); Open311 clients may also
   send the spec's ``api_key`` query or form field on ``/open311`` routes;
3. the ``geo_grid_session`` cookie set by ``/login`` for the map pages. A cookie is sent by the
   browser on its own, so it only authenticates safe methods, or writes that carry
   ``X-Requested-With: geo-grid`` (which a cross-site form cannot set): no CSRF through the maps.

A token (header or cookie) proves who is calling; what that account may do now (active? role,
area, grids) is read from the database, at most every ``GEO_GRID_AUTH_RECHECK_SECONDS``.

What each role may reach is one table, :mod:`api.policy`; :func:`authorize` applies it for every
route (:class:`api.guard.GuardedRoute`) before any body is read.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from api.policy import PUBLIC, required_roles
from geo_grid.access import Principal
from geo_grid.errors import Forbidden, Unauthorized
from geo_grid.services import access
from geo_grid.settings import get_settings

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "PrincipalDep",
    "authorize",
    "client_address",
    "current_principal",
    "issue_token",
    "principal_from_token",
]

COOKIE = "geo_grid_session"
CSRF_HEADER = "x-requested-with"
_ALGORITHM = "HS256"
_SAFE = {"GET", "HEAD", "OPTIONS"}


def client_address(request: Request) -> str:
    """The client's IP address, as the login throttle counts it: the connection's peer, or, when
    the peer is one of ``auth_trusted_proxies``, the nearest X-Forwarded-For hop that is not one
    of them (the right-most entries are the ones the trusted proxies appended: a client can
    prepend anything it likes, never append)."""
    peer = request.client.host if request.client else "unknown"
    proxies = _trusted(get_settings().auth_trusted_proxies)
    if not proxies or not _within(peer, proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _within(hop, proxies):
            return hop[:64]
    return hops[0][:64] if hops else peer


@lru_cache(maxsize=8)
def _trusted(setting: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(
            ipaddress.ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip()
        )
    except ValueError as exc:
        raise RuntimeError(f"GEO_GRID_AUTH_TRUSTED_PROXIES: {exc}") from None


def _within(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _secret() -> str:
    """The signing key: from settings, else a random one kept (0600) under the home folder."""
    settings = get_settings()
    return settings.auth_secret or _secret_in(str(settings.home))


@lru_cache(maxsize=4)
def _secret_in(home: str) -> str:
    """The key kept under ``home`` (resolving the folder on every request was 2.5 % of the
    server's CPU on ``POST /cases``)."""
    return _secret_file(Path(home).resolve() / "auth-secret")


@lru_cache(maxsize=4)
def _secret_file(path: Path) -> str:
    """The key kept in ``path``, made on first use; read once per process (every request signs or
    checks a token), so replacing the file takes a restart, as changing the setting does."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: several workers starting at once agree on the first one written
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        except FileExistsError:
            pass
    for _ in range(50):  # another worker may be between create and write
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: delete it and restart")


def issue_token(principal: Principal) -> tuple[str, int]:
    """A signed token for ``principal`` and its lifetime in seconds."""
    lifetime = int(get_settings().auth_token_minutes) * 60
    now = int(time.time())
    claims = {
        "sub": principal.name, "role": principal.role, "scope_level": principal.scope_level,
        "scope_code": principal.scope_code, "grids": list(principal.grids),
        "iat": now, "exp": now + lifetime,
    }  # fmt: skip
    return jwt.encode(claims, _secret(), algorithm=_ALGORITHM), lifetime


def principal_from_token(token: str) -> Principal:
    """The principal a token names; :class:`Unauthorized` if forged, expired or malformed.

    A token verified once is remembered with its expiry (keyed by the key and the whole token,
    signature included), so a client's every request does not verify it again: PyJWT's decode
    was 6 % of the server's CPU on ``POST /cases``. Its expiry is still checked each time.
    """
    secret = _secret()
    known = _verified.get((secret, token))
    if known is None:
        known = _verify(token, secret)
        if len(_verified) >= _VERIFIED_KEPT:
            _verified.clear()
        _verified[(secret, token)] = known
    expires, principal = known
    if time.time() >= expires:
        raise Unauthorized("token: expired, log in again")
    return principal


_VERIFIED_KEPT = 4096
_verified: dict[tuple[str, str], tuple[float, Principal]] = {}


def _verify(token: str, secret: str) -> tuple[float, Principal]:
    """(expiry, principal) of a token whose signature, expiry and claims are checked now."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]}
        )
        return float(claims["exp"]), Principal(
            name=str(claims["sub"]), role=str(claims["role"]),
            scope_level=str(claims["scope_level"]), scope_code=str(claims["scope_code"]),
            grids=tuple(str(g) for g in claims.get("grids") or ()),
        )  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token: expired, log in again") from None
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        raise Unauthorized("token: not a valid geo-grid token") from None


async def current_principal(request: Request) -> Principal | None:
    """Resolve the caller's credentials (cached on the request); None when there are none."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    principal = await _resolve(request)
    request.state.principal = principal
    return principal


async def _resolve(request: Request) -> Principal | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization: use 'Bearer <token>' from POST /auth/token")
        return await _current(principal_from_token(token.strip()))
    key = request.headers.get("x-api-key")
    if key is None and request.url.path.startswith("/open311/"):
        key = request.query_params.get("api_key")
        content_type = request.headers.get("content-type", "")
        if key is None and request.method == "POST" and "form" in content_type:
            # read under the route's body cap (api.guard) and kept for the route
            key = (await request.form()).get("api_key")
    if key is not None:
        principal = await run_in_threadpool(access.principal_for_key, str(key))
        if principal is None:
            raise Unauthorized("api_key: unknown or revoked key")
        return principal
    cookie = request.cookies.get(COOKIE)
    if cookie:
        if request.method not in _SAFE and request.headers.get(CSRF_HEADER) != "geo-grid":
            raise Forbidden(f"{CSRF_HEADER}: a write with the session cookie must send 'geo-grid'")
        return await _current(principal_from_token(cookie))
    return None


async def _current(principal: Principal) -> Principal:
    """What a token's account may do now: a token proves who the caller is, but its role, area and
    grids are re-read from the account at most every ``auth_recheck_seconds`` (a disabled
    account is refused, a new role or roster applies) instead of trusting the claims for the
    token's lifetime. A name without an account keeps the claims an operator signed."""
    current = access.account_principal_cached(principal.name)
    if current is access.STALE:
        current = await run_in_threadpool(access.account_principal, principal.name)
    return principal if current is None else current  # type: ignore[return-value]


async def authorize(request: Request) -> None:
    """Apply :mod:`api.policy` to this route (:class:`api.guard.GuardedRoute`, before any body is
    read; the Open311 POST alone may have its form read, under the body cap, for its api_key)."""
    roles = required_roles(request.app.state.policy, request.scope.get("endpoint"), request.method)
    if roles is PUBLIC:
        return
    principal = await current_principal(request)
    if principal is None:
        raise Unauthorized("credentials required: a Bearer token (POST /auth/token) or X-API-Key")
    if principal.role not in roles:
        raise Forbidden(
            f"role: {principal.role} may not {request.method} {request.url.path}; "
            f"allowed: {', '.join(sorted(roles))}"
        )


async def _principal(request: Request) -> Principal:
    principal = await current_principal(request)
    if principal is None:  # a route declared public asked for a caller: a policy mistake
        raise Unauthorized("credentials required")
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal)]
