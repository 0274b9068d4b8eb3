"""The one way a file reaches a route: ``multipart/form-data`` streamed to disk, never held whole.

Seven routes take a file: ``POST /api/v1/layers/{layer}/imports``, ``POST /api/v1/checks``,
``POST /api/v1/geocode/batch`` and onboarding's ``POST /api/v1/districts`` (an outline and
community outlines), ``…/{code}/addresses`` and ``…/{code}/roster`` declare :data:`UploadDep`
(``GEO_GRID_UPLOAD_MAX_BYTES``),
``POST /api/v1/cases/{ref}/photos`` declares :data:`PhotoDep` (``GEO_GRID_PHOTO_MAX_BYTES``); the route class
(:class:`api.guard.GuardedRoute`) sees that dependency and lets a multipart body of such a route be
``GEO_GRID_UPLOAD_MAX_BYTES`` plus :data:`FORM_SLACK` (instead of ``GEO_GRID_BODY_MAX_BYTES``),
counted as it streams, after the caller is authorized. Here each file part goes to a file in a
scratch folder under the server's home (:mod:`geo_grid.scratch`) as its bytes arrive, written from
a worker thread, and is refused (413) the moment it passes ``upload_max_bytes``; text fields are
few, short, UTF-8 and free of NUL. The folder is removed once the response is sent; a server
killed meanwhile leaves it to :func:`geo_grid.scratch.sweep` at the next start.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from geo_grid.errors import BadInput, TooLarge
from geo_grid.scratch import scratch_dir
from geo_grid.settings import get_settings

__all__ = [
    "FORM_SLACK",
    "UPLOAD_SETTINGS",
    "PhotoDep",
    "UploadDep",
    "UploadForm",
    "UploadedFile",
    "photo_form",
    "too_large",
    "upload_form",
]

#: Room for the text fields and the multipart framing on top of ``upload_max_bytes``.
FORM_SLACK = 256 * 1024
MAX_FILES = 2
MAX_FIELDS = 16
MAX_FIELD_BYTES = 64 * 1024
_FILE_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def too_large(limit: int, field: str = "file", setting: str = "upload_max_bytes") -> TooLarge:
    """The 413 of an upload over ``limit`` bytes, naming the limit and its setting."""
    return TooLarge(
        f"{field}: the upload is larger than the {limit / 1048576:.1f} MiB limit ({limit} bytes, "
        f"GEO_GRID_{setting.upper()})",
        field=field,
    )


@dataclass(frozen=True)
class UploadedFile:
    """One file of the form: ``filename`` as the client named it (no folders, one line, for
    messages), its bytes at ``path`` (under the request's scratch folder, with the client's
    extension when it is a plain one, since readers pick the format by it)."""

    field: str
    filename: str
    path: Path
    size: int


@dataclass(frozen=True)
class UploadForm:
    """A parsed multipart form: its text ``fields`` and its ``files``, by field name."""

    fields: dict[str, str]
    files: dict[str, UploadedFile]

    def names(self) -> set[str]:
        return set(self.fields) | set(self.files)

    def file(self, name: str, *, required: bool = True) -> UploadedFile | None:
        """The file sent as ``name``; BadInput naming it when it is missing (or sent as text)."""
        if name in self.files:
            return self.files[name]
        if name in self.fields:
            raise BadInput(f"{name}: send a file, not a text field", field=name)
        if required:
            raise BadInput(
                f"{name}: no file in the form (send it as the {name!r} part)", field=name
            )
        return None

    def text(self, name: str) -> str | None:
        """The text field ``name`` without surrounding spaces, None when absent or blank."""
        if name in self.files:
            raise BadInput(f"{name}: send a text field, not a file", field=name)
        value = self.fields.get(name, "").strip()
        return value or None


def client_name(raw: str) -> str:
    """A client's file name without folders, on one line, at most 120 characters.

    >>> client_name("C:\\\\数据\\\\网格 v2.gpkg"), client_name("../../etc/passwd"), client_name("")
    ('网格 v2.gpkg', 'passwd', 'upload')
    >>> client_name("a\\x00b\\x7f.gpkg")  # stored as the generation's source: no control characters
    'ab.gpkg'
    """
    name = _CONTROL.sub("", re.split(r"[\\/]", raw)[-1])
    name = " ".join(name.split())[:120]
    return name or "upload"


def _suffix(name: str) -> str:
    """The extension readers pick the format by; anything odd becomes ``.bin`` (refused there)."""
    suffix = Path(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) else ".bin"


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    text: bytearray = field(default_factory=bytearray)
    path: Path | None = None
    size: int = 0
    handle: IO[bytes] | None = None


class _Spooler:
    """python-multipart callbacks that keep text fields and send file bytes to disk.

    The callbacks run inside ``parser.write`` (on the event loop), so they only queue file
    bytes; :meth:`_flush` writes the queue from a worker thread after each chunk.
    """

    def __init__(self, folder: Path, setting: str) -> None:
        self.folder, self.setting = folder, setting
        self.file_limit: int = getattr(get_settings(), setting)
        self.fields: dict[str, str] = {}
        self.files: dict[str, UploadedFile] = {}
        self.parts: list[_Part] = []
        self.queue: list[tuple[_Part, bytes]] = []
        self.header_name, self.header_value, self.disposition = b"", b"", b""

    # ----------------------------------------------------------------- python-multipart callbacks
    def on_part_begin(self) -> None:
        self.parts.append(_Part())
        self.disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name, self.header_value = b"", b""

    def on_headers_finished(self) -> None:
        part = self.parts[-1]
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise BadInput("file: a form part has no name (Content-Disposition)", field="file")
        part.name = _text(options[b"name"], "file")
        if not part.name or len(part.name) > 64 or _CONTROL.search(part.name):
            raise BadInput(
                "file: a form field name must be 1 to 64 characters, none a control character",
                field="file",
            )
        if part.name in (p.name for p in self.parts[:-1]):
            raise BadInput(f"{part.name}: sent twice in the form", field=part.name)
        if b"filename" not in options:
            if sum(p.path is None for p in self.parts) > MAX_FIELDS:
                raise BadInput(f"{part.name}: more than {MAX_FIELDS} form fields", field=part.name)
            return
        if not _FILE_FIELD.fullmatch(part.name):
            raise BadInput(f"file: {part.name[:40]!r} is not a file field name", field="file")
        if sum(p.path is not None for p in self.parts) >= MAX_FILES:
            raise BadInput(f"{part.name}: more than {MAX_FILES} files in one form", field=part.name)
        part.filename = client_name(_text(options[b"filename"], part.name))
        part.path = self.folder / f"{part.name}{_suffix(part.filename)}"

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.parts[-1]
        part.size += end - start
        if part.path is None:
            if part.size > MAX_FIELD_BYTES:
                raise TooLarge(
                    f"{part.name}: a text field may hold {MAX_FIELD_BYTES} bytes", field=part.name
                )
            part.text += data[start:end]
        elif part.size > self.file_limit:
            raise too_large(self.file_limit, part.name, self.setting)
        else:
            self.queue.append((part, data[start:end]))

    def on_part_end(self) -> None:
        part = self.parts[-1]
        if part.path is None:
            value = _text(bytes(part.text), part.name)
            if "\x00" in value:  # the app-wide NUL guard leaves multipart bodies to this parser
                raise BadInput(f"{part.name}: must not contain a NUL character", field=part.name)
            self.fields[part.name] = value
        else:
            self.queue.append((part, b""))  # an empty file is a file too
            self.files[part.name] = UploadedFile(
                part.name, part.filename or "upload", part.path, part.size
            )

    # ----------------------------------------------------------------------------------- driving
    def _flush(self) -> None:
        """Write the queued bytes (in a worker thread)."""
        for part, data in self.queue:
            if part.handle is None:
                part.handle = part.path.open("wb")  # type: ignore[union-attr]
            part.handle.write(data)
        self.queue.clear()

    def _close(self) -> None:
        for part in self.parts:
            if part.handle is not None:
                part.handle.close()

    async def parse(self, request: Request) -> UploadForm:
        _, params = parse_options_header(request.headers.get("content-type", ""))
        if b"boundary" not in params:
            raise HTTPException(400, "multipart form without a boundary")
        callbacks = {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }
        parser = MultipartParser(params[b"boundary"], callbacks)  # type: ignore[arg-type]
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                if self.queue:
                    await run_in_threadpool(self._flush)
            parser.finalize()
            await run_in_threadpool(self._flush)
        except FormParserError as exc:
            raise HTTPException(400, f"multipart form: {exc}") from exc
        finally:
            self.queue.clear()
            await run_in_threadpool(self._close)
        return UploadForm(self.fields, self.files)


def _text(raw: bytes, name: str) -> str:
    """A form name or value as text; BadInput naming ``name`` when it is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{name}: not UTF-8 text", field=name) from None


async def _spooled(request: Request, setting: str) -> AsyncIterator[UploadForm | None]:
    """The request's multipart form with each file on disk, held to the byte limit of the setting
    ``setting``; None for any other body. The files are removed after the response was sent."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        yield None
        return
    with scratch_dir("upload_") as folder:
        yield await _Spooler(folder, setting).parse(request)


async def upload_form(request: Request) -> AsyncIterator[UploadForm | None]:
    """Dependency: a layer, a checked file or a batch to geocode (``GEO_GRID_UPLOAD_MAX_BYTES``)."""
    async for form in _spooled(request, "upload_max_bytes"):
        yield form


async def photo_form(request: Request) -> AsyncIterator[UploadForm | None]:
    """Dependency: a photo of a case's work (``GEO_GRID_PHOTO_MAX_BYTES``)."""
    async for form in _spooled(request, "photo_max_bytes"):
        yield form


#: Each upload dependency and the setting that caps its files: the route class
#: (:class:`api.guard.GuardedRoute`) caps a multipart body of a route using one by it.
UPLOAD_SETTINGS = {upload_form: "upload_max_bytes", photo_form: "photo_max_bytes"}

UploadDep = Annotated[UploadForm | None, Depends(upload_form)]
PhotoDep = Annotated[UploadForm | None, Depends(photo_form)]
