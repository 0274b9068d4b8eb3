"""Refusals a person reads: 403, 404 and 422 of page routes as small Chinese pages, not JSON.

A page route is one a person opens in a browser (:data:`PAGE_PREFIXES`: the maps, the login form,
the case and plan pages). When such a request accepts ``text/html`` (a browser's navigation does;
``fetch`` from our scripts and API clients do not), a refusal is answered with a page in Chinese
that says what happened and where to go, with the status kept (403, 404, 422), so scripts and
tests still see the code. API routes keep the JSON error body. :mod:`api.errors` holds the one handler per
error (domain errors and Starlette's own 404) and asks :func:`wants_page` which answer to give; a
401 on a page route is a redirect to the login form instead.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.routers.docs import FAVICON_SVG
from geo_grid.labels import ROLE, label
from geo_grid.maps import html_text

__all__ = ["PAGE_ERRORS", "PAGE_PREFIXES", "error_page", "is_page_path", "wants_page"]

#: Paths under these prefixes are pages for people (``/cases`` and ``/plans`` are the case and plan
#: pages; the API lives under ``/api/v1``).
PAGE_PREFIXES: tuple[str, ...] = ("/map", "/login", "/logout", "/cases", "/plans")
#: Paths for programs (the API, Open311, tiles, assets, the documents of the API): a browser
#: asking there for a path that does not exist still gets JSON, as its scripts expect.
MACHINE_PREFIXES: tuple[str, ...] = (
    "/api", "/open311", "/tiles", "/static", "/auth", "/health", "/openapi.json", "/docs", "/redoc",
)  # fmt: skip
#: Statuses answered with a page on page routes (422: a page's own form or link sent a value it
#: cannot take, e.g. a date typed as 12/1/2026 in the case list's filter).
PAGE_ERRORS: frozenset[int] = frozenset({403, 404, 422})

_TEXT = {
    403: ("无权访问", "您的账号（{role}）无权打开这个页面。如需使用，请联系系统管理员开通权限。"),
    404: ("页面不存在", "没有找到您要打开的页面或数据，可能地址有误，或者它已被删除、尚未发布。"),
    422: (
        "填写有误",
        "页面收到的筛选条件或参数有一项填写有误（例如日期请写成 2026-12-01）。"
        "请返回上一页修改后再试。",
    ),
}

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" type="image/svg+xml" href="{favicon}"><title>{title} · geo-grid</title>
<style>body{{font-family:"Noto Sans CJK SC",sans-serif;background:#f3f5f7;display:flex;
justify-content:center;align-items:center;min-height:100vh;margin:0;color:#1f2328}}
main{{background:#fff;padding:2em 2.4em;border-radius:8px;box-shadow:0 2px 12px #0002;
max-width:30em}}h1{{font-size:1.3em;margin:0 0 .6em}}.code{{color:#8c959f;font-weight:normal;
margin-left:.4em}}p{{line-height:1.7}}nav a{{display:inline-block;margin:.6em 1em 0 0;color:#1f6feb}}
details{{margin-top:1.2em;color:#57606a;font-size:.85em}}code{{word-break:break-all}}</style>
</head><body><main><h1>{title}<span class="code">{status}</span></h1><p>{text}</p>
<nav><a href="/map">返回网格地图</a><a href="/login?next={next}">换个账号登录</a></nav>
<details><summary>技术信息</summary><code>{detail}</code></details></main></body></html>"""


def is_page_path(path: str) -> bool:
    """True for a page route (``/map``, ``/map/checks/x``...), not for ``/mapping`` or the API.

    >>> is_page_path("/map/cases"), is_page_path("/api/v1/cases"), is_page_path("/maps")
    (True, False, False)
    """
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def wants_page(request: Request) -> bool:
    """A browser opening a page route (it accepts ``text/html``), not a script calling it; or a
    browser opening a path that is no route at all (a mistyped address, ``/nope``) outside the
    programs' prefixes (:data:`MACHINE_PREFIXES`): a person reads the answer there too."""
    if "text/html" not in request.headers.get("accept", ""):
        return False
    path = request.url.path
    machine = any(path == p or path.startswith(p + "/") for p in MACHINE_PREFIXES)
    return is_page_path(path) or not machine


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    """The Chinese page of a refusal (``status`` kept); ``detail`` folded under 技术信息."""
    principal = getattr(request.state, "principal", None)
    role = label(ROLE, principal.role) if principal is not None else "未登录"
    title, text = _TEXT[status]
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = _PAGE.format(
        favicon=FAVICON_SVG, title=title, status=status, text=html_text(text.format(role=role)),
        next=html_text(quote(target, safe="")), detail=html_text(detail),
    )  # fmt: skip
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
