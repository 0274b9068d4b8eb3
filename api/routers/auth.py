"""Logging in: the OAuth2 password flow for programs, a login page and cookie for the map pages."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.auth import COOKIE, PrincipalDep, issue_token
from api.guard import GuardedRoute
from geo_grid.access import ROLE_ZH
from geo_grid.errors import Unauthorized
from geo_grid.services import access
from geo_grid.settings import get_settings

router = APIRouter(tags=["auth"], route_class=GuardedRoute)


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


@router.post("/auth/token", response_model=TokenOut)
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Any:
    """OAuth2 password flow: username + password (form fields) → a Bearer token."""
    principal = await run_in_threadpool(access.authenticate, form.username, form.password)
    value, lifetime = issue_token(principal)
    return {
        "access_token": value, "expires_in": lifetime, "role": principal.role,
        "scope": f"{principal.scope_level}:{principal.scope_code}",
    }  # fmt: skip


@router.get("/auth/me", response_model=MeOut)
def me(principal: PrincipalDep) -> Any:
    """Who the credentials belong to, their role and area."""
    return {
        "name": principal.name, "kind": principal.kind, "role": principal.role,
        "role_zh": ROLE_ZH[principal.role],
        "scope": f"{principal.scope_level}:{principal.scope_code}", "grids": list(principal.grids),
    }  # fmt: skip


def _local(next_path: str | None) -> str:
    """Only same-site paths after login (no open redirect to //evil.example)."""
    if next_path and next_path.startswith("/") and not next_path.startswith("//"):
        return next_path
    return "/map"


_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>登录 · geo-grid</title>
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
    return HTMLResponse(_PAGE.format(error=err, next=html.escape(next_path)), status_code=status)


@router.get("/login", response_class=HTMLResponse)
def login_page(next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None) -> Any:
    """The map pages' login form (no script, no external asset)."""
    return _page(_local(next_))


@router.post("/login", response_class=HTMLResponse)
async def login(
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next_: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Any:
    """Check the password, set the session cookie (HttpOnly, SameSite=Strict) and go back."""
    target = _local(next_)
    try:
        principal = await run_in_threadpool(access.authenticate, username, password)
    except Unauthorized as exc:
        return _page(target, exc.message, status=401)
    value, lifetime = issue_token(principal)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, value, max_age=lifetime, httponly=True, samesite="strict",
        secure=get_settings().auth_cookie_secure, path="/",
    )  # fmt: skip
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request) -> Any:
    """Forget the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
