"""Photos of a case's work (处置前 / 处置后): what a grid worker's upload must be, and what is kept.

An upload is accepted only when it is what it claims: its first bytes say JPEG, PNG or WebP (the
file name and the declared type are not trusted), it is within the byte limit, its header's pixel
size is within the pixel limit (a small file must not unpack into gigabytes), and it decodes
whole. What is kept is the decoded picture **encoded again** in the same format, turned upright by
its EXIF orientation first, so:

- no metadata survives: a phone photo's EXIF carries the GPS position where it was taken (often
  the worker's home when they upload later), the time and the camera's serial number. A case
  already has its place; the photo does not need to say where its taker lives (privacy: strip);
- nothing but pixels survives: a file that is a valid image *and* an HTML page or a script
  (a polyglot) is reduced to the image;
- its colour profile is kept, so it looks as the worker saw it.

The sha256 recorded is of the bytes kept, which is what a verifier later opens.

>>> from io import BytesIO
>>> from PIL import Image
>>> buf = BytesIO(); Image.new("RGB", (40, 30), "red").save(buf, "PNG")
>>> kept = clean_photo(buf.getvalue(), max_bytes=10_000, max_pixels=10_000)
>>> kept.content_type, kept.extension, (kept.width, kept.height), len(kept.sha256)
('image/png', 'png', (40, 30), 64)
>>> clean_photo(b"GIF89a...", max_bytes=10_000, max_pixels=10_000)
Traceback (most recent call last):
...
geo_grid.errors.BadInput: file: not a JPEG, PNG or WebP image (it starts with b'GIF89a..')
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from geo_grid.errors import BadInput, TooLarge

__all__ = ["FORMATS", "PHASES", "CleanPhoto", "check_phase", "clean_photo", "sniff"]

#: The phases a photo of the work is taken in (labels in :data:`geo_grid.labels.PHOTO_PHASE`).
PHASES: tuple[str, ...] = ("before", "after")

#: Pillow format -> (content type, file extension), the only three kept.
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}

_JPEG_QUALITY = 90


@dataclass(frozen=True)
class CleanPhoto:
    """A photo as it will be kept: re-encoded bytes without metadata, and what proves them."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def sniff(head: bytes) -> str | None:
    """The image format the first bytes announce (``JPEG``, ``PNG``, ``WEBP``), else None.

    >>> sniff(b"\\xff\\xd8\\xff\\xe0..."), sniff(b"\\x89PNG\\r\\n\\x1a\\n..."), sniff(b"RIFF\\0\\0\\0\\0WEBPVP8 ")
    ('JPEG', 'PNG', 'WEBP')
    >>> sniff(b"<svg xmlns=...") is None
    True
    """
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_phase(phase: str | None) -> str:
    """``phase`` if it is ``before`` or ``after``; :class:`BadInput` naming the field otherwise."""
    if phase not in PHASES:
        raise BadInput(f"phase: must be one of {', '.join(PHASES)}, not {phase!r}", field="phase")
    return phase


def clean_photo(data: bytes, *, max_bytes: int, max_pixels: int, field: str = "file") -> CleanPhoto:
    """Check an uploaded photo and return it as kept (see the module's docstring).

    :class:`TooLarge` over ``max_bytes``; :class:`BadInput` naming ``field`` for an empty file, a
    format other than JPEG, PNG or WebP (by its bytes), more than ``max_pixels`` pixels, or a
    picture that does not decode.
    """
    fmt = _validate(data, max_bytes=max_bytes, field=field)
    image = _decode(data, fmt, max_pixels=max_pixels, field=field)
    kept = _encode(image, fmt)
    content_type, extension = FORMATS[fmt]
    return CleanPhoto(
        kept, content_type, extension, image.width, image.height, hashlib.sha256(kept).hexdigest()
    )


def _validate(data: bytes, *, max_bytes: int, field: str) -> str:
    if len(data) > max_bytes:
        raise TooLarge(
            f"{field}: the photo is larger than the {max_bytes / 1048576:.1f} MiB limit "
            f"({max_bytes} bytes, GEO_GRID_PHOTO_MAX_BYTES)",
            field=field,
        )
    if not data:
        raise BadInput(f"{field}: the photo is empty", field=field)
    fmt = sniff(data[:16])
    if fmt is None:
        raise BadInput(
            f"{field}: not a JPEG, PNG or WebP image (it starts with {data[:8]!r})", field=field
        )
    return fmt


def _decode(data: bytes, fmt: str, *, max_pixels: int, field: str) -> Image.Image:
    """Open with only the sniffed format's decoder, check the header's size, then decode whole."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size
            if width * height > max_pixels:
                raise BadInput(
                    f"{field}: {width}×{height} is more than {max_pixels} pixels "
                    "(GEO_GRID_PHOTO_MAX_PIXELS)",
                    field=field,
                )
            image.load()
            return ImageOps.exif_transpose(image)
    except BadInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard, in ``Image.open`` (before our check): a header of a huge picture
        raise BadInput(
            f"{field}: more than {max_pixels} pixels (GEO_GRID_PHOTO_MAX_PIXELS)", field=field
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadInput(
            f"{field}: the {fmt} image cannot be decoded ({type(exc).__name__}: {exc})",
            field=field,
        ) from None


def _encode(image: Image.Image, fmt: str) -> bytes:
    """The picture alone in ``fmt``: no EXIF, XMP or text chunks; the colour profile kept."""
    extra: dict = {}
    icc = image.info.get("icc_profile")
    if icc:
        extra["icc_profile"] = icc
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        extra.update(quality=_JPEG_QUALITY, optimize=True)
    elif fmt == "WEBP":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        extra.update(quality=_JPEG_QUALITY)
    out = io.BytesIO()
    image.save(out, fmt, **extra)
    return out.getvalue()
