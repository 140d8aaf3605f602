"""Preparing a source image for storage: rotate if the source needs it, downscale large ones.

JPEG sources that need no change are stored byte for byte (no re-encoding loss, and it is the
fast path); everything else is re-encoded as JPEG at quality 90. Stored pixels are exactly the
ones the labels refer to, so readers must not apply EXIF orientation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from hmr.errors import HmrError

DEFAULT_MAX_SIDE = 2000
JPEG_QUALITY = 90


@dataclass
class StoredImage:
    data: bytes
    ext: str
    width: int  # stored size
    height: int
    src_width: int  # size in the source's label convention (after any rotation)
    src_height: int

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy) from source-label pixels to stored pixels."""
        return self.width / self.src_width, self.height / self.src_height


def prepare_image(
    source: str | Path | bytes, max_side: int = DEFAULT_MAX_SIDE, rotate_cw: bool = False, where: str = ""
) -> StoredImage:
    """Read, optionally rotate 90 degrees clockwise, downscale to ``max_side``, encode."""
    raw = source if isinstance(source, bytes) else _read(source)
    where = where or (str(source) if not isinstance(source, bytes) else "image")
    try:
        im = Image.open(io.BytesIO(raw))
        im.load()
    except Exception as e:
        raise HmrError(f"{where}: cannot decode the image ({e}); the file may be corrupt") from e
    if rotate_cw:
        im = im.transpose(Image.Transpose.ROTATE_270)
    src_w, src_h = im.size
    scale = min(1.0, max_side / max(src_w, src_h)) if max_side else 1.0
    if im.format == "JPEG" and scale == 1.0 and not rotate_cw:
        return StoredImage(raw, "jpg", src_w, src_h, src_w, src_h)
    if scale < 1.0:
        size = (max(1, round(src_w * scale)), max(1, round(src_h * scale)))
        im = im.convert("RGB").resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=JPEG_QUALITY)
    return StoredImage(buf.getvalue(), "jpg", im.size[0], im.size[1], src_w, src_h)


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as e:
        raise HmrError(f"image {path} is missing; check --src points at the dataset root") from e
