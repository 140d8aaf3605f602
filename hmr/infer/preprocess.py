"""Image loading and the network's input geometry (resize-to-fit, centred padding, intrinsics).

Everything downstream works in the ORIGINAL image's camera; the S x S network frame only exists
here and is undone in the backends with :class:`Letterbox`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hmr.camera import check_intrinsics, intrinsics_from_fov
from hmr.errors import HmrError

ImageInput = str | os.PathLike | np.ndarray | Image.Image

#: refuse images above this many pixels (decompression bombs); big photos are still fine
MAX_PIXELS = 400_000_000
#: images are decoded at most this large for display/overlay; the network needs far less
MAX_DISPLAY_SIDE = 4096


@dataclass(frozen=True)
class Letterbox:
    """Map between original-image pixels and the S x S network input: ``net = orig * scale + pad``."""

    image_size: tuple[int, int]  # (W, H) of the original image
    net_size: int
    scale_xy: tuple[float, float]
    pad_xy: tuple[int, int]

    @classmethod
    def fit(cls, width: int, height: int, net_size: int) -> Letterbox:
        ratio = net_size / max(width, height)
        new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
        return cls(
            (width, height),
            net_size,
            (new_w / width, new_h / height),
            ((net_size - new_w) // 2, (net_size - new_h) // 2),
        )

    @property
    def resized_size(self) -> tuple[int, int]:
        return round(self.image_size[0] * self.scale_xy[0]), round(self.image_size[1] * self.scale_xy[1])

    def K_to_net(self, K_orig: np.ndarray) -> np.ndarray:
        """Intrinsics of the network input for the original camera ``K_orig``."""
        A = np.array([[self.scale_xy[0], 0, self.pad_xy[0]], [0, self.scale_xy[1], self.pad_xy[1]], [0, 0, 1]])
        return A @ np.asarray(K_orig, np.float64)

    def points_to_orig(self, points_net: np.ndarray) -> np.ndarray:
        """``(..., 2)`` network-frame pixels -> original-image pixels."""
        return (points_net - np.asarray(self.pad_xy)) / np.asarray(self.scale_xy)


@dataclass
class PreparedImage:
    """One image ready for a backend. ``pixels`` is the ``(S, S, 3)`` uint8 RGB network input (None for
    backends that work on the whole image); ``display`` is the image itself (a downscaled copy for huge
    inputs, with ``K_display`` to match), to fit keypoints on and to draw on."""

    letterbox: Letterbox
    K_orig: np.ndarray
    display: np.ndarray
    K_display: np.ndarray
    pixels: np.ndarray | None = None
    K_net: np.ndarray | None = None
    name: str = ""

    @property
    def image_size(self) -> tuple[int, int]:
        return self.letterbox.image_size


def load_image(image: ImageInput) -> Image.Image:
    """Open anything image-like as an RGB PIL image with EXIF orientation applied.

    Grayscale, palette, RGBA (composited on black, like the padding), CMYK, 16-bit and float images
    are converted; an unreadable file raises :class:`HmrError` naming it.
    """
    if isinstance(image, Image.Image):
        pil = image
    elif isinstance(image, np.ndarray):
        pil = _from_array(image)
    else:
        path = Path(image)
        if not path.is_file():
            raise HmrError(f"{path}: no such file")
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        try:
            pil = Image.open(path)
            pil.draft("RGB", (MAX_DISPLAY_SIDE, MAX_DISPLAY_SIDE))  # JPEG: decode big photos at reduced scale
            pil.load()
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError) as exc:
            raise HmrError(f"{path}: not a readable image ({str(exc).splitlines()[0][:120]})") from None
    pil = ImageOps.exif_transpose(pil)
    return _to_rgb(pil)


def _from_array(array: np.ndarray) -> Image.Image:
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4)):
        if array.dtype != np.uint8:
            array = _to_uint8(array)
        return Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    raise HmrError(f"image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if np.issubdtype(array.dtype, np.floating):
        return (np.clip(np.nan_to_num(array), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    if array.dtype == np.uint16 or array.max(initial=0) > 255:
        return (array.astype(np.float64) / max(float(np.iinfo(array.dtype).max), 1.0) * 255 + 0.5).astype(np.uint8)
    return array.astype(np.uint8)


def _to_rgb(pil: Image.Image) -> Image.Image:
    if pil.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return Image.fromarray(_to_uint8(np.asarray(pil))).convert("RGB")
    if pil.mode == "P":
        pil = pil.convert("RGBA")
    if pil.mode in ("RGBA", "LA", "PA"):
        rgba = pil.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return pil.convert("RGB") if pil.mode != "RGB" else pil


def resolve_K(width: int, height: int, K: np.ndarray | None = None, fov: float | None = None) -> np.ndarray:
    """Intrinsics of the original image: given K, else ``fov`` (default 60 deg) over the longer side."""
    if K is not None:
        return check_intrinsics(K)
    if fov is not None and not 1.0 <= fov <= 179.0:
        raise HmrError(f"--fov must be between 1 and 179 degrees, got {fov}")
    return intrinsics_from_fov(width, height, 60.0 if fov is None else fov)


def prepare(
    image: ImageInput, net_size: int | None, K: np.ndarray | None = None, fov: float | None = None, name: str = ""
) -> PreparedImage:
    """Load, then resize-to-fit and pad (centred, black) to ``net_size`` (skipped when None); K for both frames.

    ``image_size`` and ``K_orig`` refer to the image as a user sees it (after EXIF rotation). A JPEG
    larger than 4096 px is decoded at reduced scale; K is rescaled so results stay in the original
    pixels.
    """
    pil = load_image(image)
    true_size = _true_size(image, pil)
    K_orig = resolve_K(*true_size, K=K, fov=fov)
    display_scale = pil.size[0] / true_size[0], pil.size[1] / true_size[1]
    if max(pil.size) > MAX_DISPLAY_SIDE:
        ratio = MAX_DISPLAY_SIDE / max(pil.size)
        pil = pil.resize(
            (max(1, round(pil.size[0] * ratio)), max(1, round(pil.size[1] * ratio))), Image.Resampling.BILINEAR
        )
        display_scale = pil.size[0] / true_size[0], pil.size[1] / true_size[1]
    K_display = np.diag([display_scale[0], display_scale[1], 1.0]) @ K_orig
    letterbox = Letterbox.fit(*true_size, net_size or max(true_size))
    prepared = PreparedImage(letterbox, K_orig, np.asarray(pil), K_display, name=name)
    if net_size:
        display_box = Letterbox.fit(*pil.size, net_size)
        resized = (
            pil.resize(display_box.resized_size, Image.Resampling.BICUBIC)
            if pil.size != display_box.resized_size
            else pil
        )
        canvas = Image.new("RGB", (net_size, net_size), (0, 0, 0))
        canvas.paste(resized, display_box.pad_xy)
        prepared.pixels, prepared.K_net = np.asarray(canvas), letterbox.K_to_net(K_orig)
    return prepared


def _true_size(image: ImageInput, pil: Image.Image) -> tuple[int, int]:
    """Size of the image as stored (after EXIF rotation), even when JPEG draft decoding shrank it."""
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as header:
            width, height = header.size
            orientation = header.getexif().get(0x0112, 1)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        return width, height
    return pil.size
