"""Photos of a case's work over HTTP: a grid worker uploads them, whoever may read the case sees them.

``POST /api/v1/cases/{ref}/photos`` takes a ``multipart/form-data`` form with ``phase``
(``before`` | ``after``) and one ``file``. The body is read as it streams and refused (413) the
moment it passes ``GEO_GRID_PHOTO_MAX_BYTES`` plus a little room for the form's framing, and
before that when ``Content-Length`` already says so; the caller's role was checked before any of
it was read (:func:`api.auth.authorize` runs first). What the photo must be, and what is kept of it,
is :func:`geo_grid.services.cases.add_photo`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile
from starlette.requests import Request as StarletteRequest

from api.auth import PrincipalDep
from api.openapi import request_body
from geo_grid.errors import BadInput, TooLarge
from geo_grid.services import cases
from geo_grid.settings import get_settings

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

#: Room for the form's framing and its ``phase`` field on top of the photo's own limit.
FORM_SLACK = 16 * 1024

CaseRef = Annotated[
    str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$", description="Case id or case number")
]
PhotoId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The photo's id")]


class PhotoOut(BaseModel):
    """A stored photo: what it is, who added it and when, where to fetch it."""

    model_config = ConfigDict(extra="allow")
    id: str
    case_id: int
    phase: str = Field(description="before | after")
    phase_zh: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str = Field(description="Of the stored bytes (re-encoded, without EXIF)")
    uploaded_by: str
    role: str
    uploaded_at: Any
    url: str


@dataclass(frozen=True)
class PhotoForm:
    phase: str | None
    data: bytes


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"file: the photo is larger than the {limit / 1048576:.1f} MiB limit "
        f"({limit} bytes, GEO_GRID_PHOTO_MAX_BYTES)",
        field="file",
    )


async def photo_form(request: Request) -> PhotoForm:
    """The upload's ``phase`` and file bytes, read as they stream and capped (413).

    Until the shared upload dependency (``api/uploads.py``) is here, this is the photo route's own
    small reader: Starlette's form parser over a ``receive`` that counts the bytes."""
    limit = get_settings().photo_max_bytes
    cap = limit + FORM_SLACK
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        raise BadInput("file: send the photo as multipart/form-data (phase, file)", field="file")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(limit)
    seen = 0

    async def receive() -> dict:
        nonlocal seen
        message = await request.receive()
        seen += len(message.get("body", b""))
        if seen > cap:
            raise _too_large(limit)
        return message

    form = await StarletteRequest(request.scope, receive).form(max_files=1, max_fields=4)
    try:
        upload, phase = form.get("file"), form.get("phase")
        if not isinstance(upload, UploadFile):
            raise BadInput("file: no photo in the form (send it as the 'file' part)", field="file")
        if phase is not None and not isinstance(phase, str):
            raise BadInput("phase: must be text (before or after)", field="phase")
        data = await upload.read(limit + 1)
    finally:
        await form.close()
    return PhotoForm(phase, data)


_PHOTO_BODY = request_body(
    {
        "phase": {"type": "string", "enum": ["before", "after"]},
        "file": {"type": "string", "format": "binary", "description": "JPEG, PNG or WebP"},
    },
    required=("phase", "file"),
)


@router.post(
    "/{ref}/photos",
    response_model=PhotoOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_PHOTO_BODY,
)
async def add_photo(
    ref: CaseRef, principal: PrincipalDep, form: Annotated[PhotoForm, Depends(photo_form)]
) -> Any:
    """Add a photo of the work on a case: ``before`` (处置前) or ``after`` (处置后) handling.

    By the grid worker of the case's grid, while the case is being worked (409 naming the phases
    open otherwise). JPEG, PNG or WebP by its bytes, at most ``GEO_GRID_PHOTO_MAX_BYTES`` (413) and
    ``GEO_GRID_PHOTO_MAX_PIXELS``; it is kept re-encoded without EXIF (no GPS position)."""
    return await run_in_threadpool(cases.add_photo, ref, form.phase, form.data, by=principal)


@router.get(
    "/{ref}/photos/{photo_id}",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in ("image/jpeg", "image/png", "image/webp")}}},
)
def get_photo(ref: CaseRef, photo_id: PhotoId, principal: PrincipalDep) -> FileResponse:
    """One photo of a case's work, for those who may read the case (403 outside their area).

    Served with its checked type, never sniffed by the browser, and cached only privately."""
    found = cases.photo_file(ref, photo_id, viewer=principal)
    return FileResponse(
        found.path,
        media_type=found.content_type,
        headers={
            "Cache-Control": "private, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "ETag": f'"{found.sha256}"',
        },
        content_disposition_type="inline",
    )
