"""Logging in: the OAuth2 password flow for programs, a login page and cookie for the map pages."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm

from api import schemas
from api.auth import COOKIE, PrincipalDep, client_address, issue_token
from api.guard import GuardedRoute
from api.page_shell import nav
from api.routers.docs import FAVICON_SVG
from geo_grid.access import ROLE_ZH
from geo_grid.errors import TooManyAttempts, Unauthorized
from geo_grid.services import access
from geo_grid.settings import get_settings

router = APIRouter(tags=["auth"], route_class=GuardedRoute)


@router.post("/auth/token", response_model=schemas.TokenOut)
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Any:
    """Log in: username and password for a Bearer token (OAuth2 password flow).

    Form fields ``username`` and ``password``; the answer's ``access_token`` goes in
    ``Authorization: Bearer ...`` for ``GEO_GRID_AUTH_TOKEN_MINUTES``. A wrong password is a 401
    naming no reason an attacker could use; wrong passwords in a row slow down further tries of
    that name from that address (429 with ``Retry-After``), without locking the owner out."""
    principal = await run_in_threadpool(
        access.authenticate, form.username, form.password, address=client_address(request)
    )
    value, lifetime = issue_token(principal)
    return {
        "access_token": value, "expires_in": lifetime, "role": principal.role,
        "scope": f"{principal.scope_level}:{principal.scope_code}",
    }  # fmt: skip


@router.get("/auth/me", response_model=schemas.MeOut)
def me(principal: PrincipalDep) -> Any:
    """Who the credentials belong to: name, kind, role (and its Chinese label), area, and the
    pages the role may open.

    Works with any credential (token, API key, session cookie); a quick check that a client logged in
    as the account it meant to."""
    return {
        "name": principal.name, "kind": principal.kind, "role": principal.role,
        "role_zh": ROLE_ZH[principal.role],
        "scope": f"{principal.scope_level}:{principal.scope_code}", "grids": list(principal.grids),
        "pages": [{"href": link.href, "label": link.label} for link in nav(principal, "")],
    }  # fmt: skip


def _local(next_path: str | None) -> str:
    """Only same-site paths after login (no open redirect to //evil.example)."""
    if next_path and next_path.startswith("/") and not next_path.startswith("//"):
        return next_path
    return "/map"


_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>登录 · geo-grid</title>
<link rel="icon" type="image/svg+xml" href="{favicon}">
<style>body{{font-family:"Noto Sans CJK SC",sans-serif;background:#f3f5f7;display:flex;
justify-content:center;align-items:center;height:100vh;margin:0}}form{{background:#fff;padding:2em;
border-radius:8px;box-shadow:0 2px 12px #0002;min-width:18em}}h1{{font-size:1.2em;margin-top:0}}
label{{display:block;margin:.8em 0 .2em}}input{{width:100%;padding:.5em;box-sizing:border-box}}
button{{margin-top:1.2em;width:100%;padding:.6em;background:#1f6feb;color:#fff;border:0;
border-radius:4px;font-size:1em}}.err{{color:#b42318;margin:.5em 0 0}}</style></head><body>
<form method="post" action="/login"><h1>网格化管理 · geo-grid 登录</h1>{error}
<input type="hidden" name="next" value="{next}">
<label for="u">用户名</label><input id="u" name="username" autocomplete="username" required>
<label for="p">密码</label><input id="p" name="password" type="password"
autocomplete="current-password" required><button type="submit">登录</button></form></body></html>"""


def _page(next_path: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    err = f'<p class="err" role="alert">{html.escape(error)}</p>' if error else ""
    body = _PAGE.format(error=err, next=html.escape(next_path), favicon=FAVICON_SVG)
    return HTMLResponse(body, status_code=status)


@router.get("/login", response_class=HTMLResponse)
def login_page(next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None) -> Any:
    """The login form for people opening the map pages.

    Plain HTML with no script and no external asset; ``next`` is where to go after logging in (a path
    on this site only)."""
    return _page(_local(next_))


_FORM_AGAIN = {"text/html": {"schema": {"type": "string"}}}


@router.post(
    "/login",
    response_class=HTMLResponse,
    responses={
        303: {"description": "Logged in: to ``next``, with the session cookie"},
        401: {"description": "The form again, with the reason", "content": _FORM_AGAIN},
        429: {"description": "The form again, with the wait (Retry-After)", "content": _FORM_AGAIN},
    },
)
async def login(
    request: Request,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
    next_: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Any:
    """Check a person's password from the login form and set the session cookie.

    The cookie is HttpOnly and SameSite=Strict and holds the same token as ``/auth/token`` gives;
    then a 303 back to ``next``. A wrong password shows the form again with the reason (401); too
    many in a row from one address show it with the wait (429 and ``Retry-After``)."""
    target = _local(next_)
    try:
        principal = await run_in_threadpool(
            access.authenticate, username, password, address=client_address(request)
        )
    except Unauthorized as exc:
        return _page(target, exc.message, status=401)
    except TooManyAttempts as exc:
        page = _page(target, exc.message, status=429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    value, lifetime = issue_token(principal)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, value, max_age=lifetime, httponly=True, samesite="strict",
        secure=get_settings().auth_cookie_secure, path="/",
    )  # fmt: skip
    return response


@router.post(
    "/logout",
    response_class=HTMLResponse,
    responses={303: {"description": "Logged out: to the login form"}},
)
def logout(request: Request) -> Any:
    """Log out of the map pages: forget the session cookie.

    Tokens already handed to programs stay valid until they expire."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
