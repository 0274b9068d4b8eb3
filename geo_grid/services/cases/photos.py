"""Photos of a case's work: a grid worker adds them (处置前 / 处置后), whoever may read the case sees them.

The file is kept under ``<GEO_GRID_HOME>/photos/<case id>/<uuid>.<ext>`` (:attr:`Settings.photos_dir
<geo_grid.settings.Settings.photos_dir>`), the row in ``case_photo``. Adding one is one transaction:
the case is read, the caller's area and duty (:func:`geo_grid.cases.duties.check_photo`) checked,
the file written atomically (a temporary name in the same folder, fsync, rename) and the row
inserted; if anything after the write fails, the file is removed again, so no row ever names a
missing file. A server killed between the rename and the commit leaves a file no row names,
which nothing shows or serves (harmless, and rare: the window is one commit).

What is kept is :func:`geo_grid.cases.photos.clean_photo`'s re-encoding: no EXIF (so no GPS
position of where the photo was taken), checked type and size.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from geo_grid.access import Principal
from geo_grid.cases import duties
from geo_grid.cases.photos import CleanPhoto, check_phase, clean_photo
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import NotFound
from geo_grid.services.cases._common import action_time
from geo_grid.services.cases.views import ensure_in_scope, find_case, photo_view
from geo_grid.settings import get_settings

__all__ = ["PhotoFile", "add_photo", "photo_file"]


@dataclass(frozen=True)
class PhotoFile:
    """A stored photo to send: its file and type."""

    path: Path
    content_type: str
    sha256: str


def add_photo(
    ref: int | str, phase: str | None, data: bytes, *, by: Principal, now: datetime | None = None
) -> dict[str, Any]:
    """Add a ``phase`` photo (``before`` / ``after``) of the work on case ``ref``, taken by ``by``.

    Refused, storing nothing: a phase other than those two (422), a file that is not a JPEG, PNG
    or WebP image by its bytes, does not decode or has too many pixels (422), one over
    ``GEO_GRID_PHOTO_MAX_BYTES`` (413), a case outside the caller's area or a role that does not
    take photos (403), a status in which that phase is closed (409, listing the open ones).
    """
    now = action_time(now)
    phase = check_phase(phase)
    settings = get_settings()
    with session_scope() as session:  # refuse a stranger before decoding their file
        case = find_case(session, ref)
        ensure_in_scope(by, case)
        duties.check_photo(by.role, case["status"], phase)
    photo = clean_photo(
        data, max_bytes=settings.photo_max_bytes, max_pixels=settings.photo_max_pixels
    )
    written: Path | None = None
    try:
        with session_scope() as session:
            case = find_case(session, ref)  # again, in the transaction that records the photo
            ensure_in_scope(by, case)
            duties.check_photo(by.role, case["status"], phase)
            photo_id = uuid.uuid4().hex
            written = _write(settings.photos_dir, case["id"], photo_id, photo)
            row = {
                "id": photo_id, "case_id": case["id"], "phase": phase,
                "content_type": photo.content_type, "size_bytes": photo.size,
                "width": photo.width, "height": photo.height, "sha256": photo.sha256,
                "path": str(written.relative_to(settings.photos_dir)),
                "uploaded_by": by.label, "role": by.role, "uploaded_at": now,
            }  # fmt: skip
            repos.cases.insert_photo(session, row)
    except BaseException:
        if written is not None:
            written.unlink(missing_ok=True)
        raise
    return photo_view(row)


def _write(root: Path, case_id: int, photo_id: str, photo: CleanPhoto) -> Path:
    """Write the photo atomically: a temporary file in the target folder, fsync, rename."""
    folder = root / str(int(case_id))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{photo_id}.{photo.extension}"
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(photo.data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return target


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (the directory entry), as PostgreSQL does for its files."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def photo_file(ref: int | str, photo_id: str, *, viewer: Principal) -> PhotoFile:
    """The file of one photo of case ``ref``, for a caller who may read the case (403 outside
    their area, 404 for a photo the case does not have or whose file is gone)."""
    root = get_settings().photos_dir
    with session_scope() as session:
        case = find_case(session, ref)
        ensure_in_scope(viewer, case)
        row = repos.cases.get_photo(session, case["id"], photo_id)
    path = (root / row["path"]).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound(f"photo: the file of photo {photo_id} is missing", field="photo_id")
    return PhotoFile(path, row["content_type"], row["sha256"])
