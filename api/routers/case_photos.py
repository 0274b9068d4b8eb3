"""Photos of a case's work over HTTP: a grid worker uploads them, whoever may read the case sees them.

``POST /api/v1/cases/{ref}/photos`` takes a ``multipart/form-data`` form with ``phase``
(``before`` | ``after``) and one ``file``, through the one upload dependency
(:data:`api.uploads.PhotoDep`): streamed to disk and refused (413) the moment it passes
``GEO_GRID_PHOTO_MAX_BYTES`` (plus the form's room), and before that when ``Content-Length``
already says so; the caller's role was checked before any of it was read
(:class:`api.guard.GuardedRoute`). What the photo must be, and what is kept of it,
is :func:`geo_grid.services.cases.add_photo`'s business.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from api import schemas
from api.auth import PrincipalDep
from api.guard import GuardedRoute
from api.openapi import request_body
from api.params import CaseRef, PhotoId
from api.uploads import PhotoDep, UploadForm
from geo_grid.errors import BadInput
from geo_grid.services import cases

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], route_class=GuardedRoute)


def _photo(form: UploadForm | None) -> tuple[str | None, bytes]:
    """The form's ``phase`` and the photo's bytes (at most ``GEO_GRID_PHOTO_MAX_BYTES``, which
    the upload dependency held it to as it streamed to disk)."""
    if form is None:
        raise BadInput("file: send the photo as multipart/form-data (phase, file)", field="file")
    upload = form.file("file")
    return form.text("phase"), upload.path.read_bytes()  # type: ignore[union-attr]


_PHOTO_BODY = request_body(
    {
        "phase": {"type": "string", "enum": ["before", "after"]},
        "file": {"type": "string", "format": "binary", "description": "JPEG, PNG or WebP"},
    },
    required=("phase", "file"),
)


@router.post(
    "/{ref}/photos",
    response_model=schemas.PhotoOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_PHOTO_BODY,
)
async def add_photo(ref: CaseRef, principal: PrincipalDep, form: PhotoDep) -> Any:
    """Add a photo of the work on a case: ``before`` (处置前) or ``after`` (处置后) handling.

    By the grid worker of the case's grid, while the case is being worked (409 naming the phases
    open otherwise). JPEG, PNG or WebP by its bytes, at most ``GEO_GRID_PHOTO_MAX_BYTES`` (413) and
    ``GEO_GRID_PHOTO_MAX_PIXELS``; it is kept re-encoded without EXIF (no GPS position)."""
    phase, data = await run_in_threadpool(_photo, form)
    return await run_in_threadpool(cases.add_photo, ref, phase, data, by=principal)


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
