"""Meshes drawn over an image: backend choice, then alpha compositing.

Backends, best first: ``egl`` (OpenGL through moderngl on a headless EGL context) and ``torch``
(a pure-torch z-buffer rasterizer that needs no GL at all). ``backend="auto"`` reads
``$HMR_RENDER_BACKEND`` and otherwise tries EGL once per process, falling back to torch with a
single log line. An explicit ``backend=`` argument wins over the environment variable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from hmr.camera import check_intrinsics
from hmr.errors import HmrError
from hmr.render import raster_egl, raster_torch
from hmr.render.palette import person_colors
from hmr.render.scene import (
    DEFAULT_LIGHTING,
    Lighting,
    RasterLayers,
    RasterScene,
    build_scene,
    check_colors,
    check_meshes,
    to_numpy,
)

logger = logging.getLogger(__name__)

BACKEND_ENV_VAR = "HMR_RENDER_BACKEND"
_RASTERIZERS = {"egl": raster_egl.rasterize, "torch": raster_torch.rasterize}
_LAYER_RASTERIZERS = {"egl": raster_egl.rasterize_layers, "torch": raster_torch.rasterize_layers}
_fallback_logged = False


def resolve_backend(backend: str = "auto") -> str:
    """The concrete backend (``"egl"`` or ``"torch"``) that ``backend`` stands for here."""
    global _fallback_logged
    choice = backend.strip().lower()
    if choice == "auto":
        choice = os.environ.get(BACKEND_ENV_VAR, "").strip().lower() or "auto"
    if choice not in ("auto", *_RASTERIZERS):
        raise HmrError(f"unknown render backend {choice!r} (argument or ${BACKEND_ENV_VAR}); use auto, egl or torch")
    if choice != "auto":
        return choice
    reason = raster_egl.unavailable_reason()
    if reason is None:
        return "egl"
    if not _fallback_logged:
        logger.warning("EGL rendering unavailable (%s); using the slower torch rasterizer", reason)
        _fallback_logged = True
    return "torch"


def available_backends() -> list[str]:
    """Backends that can render in this process, best first."""
    return ["egl", "torch"] if raster_egl.unavailable_reason() is None else ["torch"]


def _check_image(image: Any) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
        raise HmrError(f"image must be an RGB uint8 array of shape (H, W, 3), got {image.dtype} {image.shape}")
    return image


def _supersampled_K(K: np.ndarray, factor: int) -> np.ndarray:
    """Intrinsics of the same view ``factor`` times finer: sub-pixel centres sit at
    ``(j + 0.5) / factor - 0.5`` in original pixels, so ``u' = factor (u + 0.5) - 0.5``."""
    K_fine = K.copy()
    K_fine[:2] *= factor
    K_fine[:2, 2] += 0.5 * factor - 0.5
    return K_fine


def render_overlay(
    image: np.ndarray,
    meshes: Sequence[Any],
    faces: Any,
    K: Any,
    colors: Any = None,
    alpha: float = 0.8,
    backend: str = "auto",
    ids: Sequence[int] | None = None,
    shading: str = "smooth",
    supersample: int = 1,
) -> np.ndarray:
    """Draw meshes over ``image`` with a shared depth buffer, so nearer people hide farther ones.

    Args:
        image: ``(H, W, 3)`` uint8 RGB; not modified.
        meshes: per person, vertices ``(V, 3)`` in the camera frame of ``image`` (OpenCV axes,
            metres). Faces with a vertex behind the camera (``z < 1 cm``) are not drawn.
        faces: ``(F, 3)`` vertex indices shared by every mesh, or one ``(F_i, 3)`` array per mesh.
        K: ``(3, 3)`` intrinsics of ``image``; a vertex ``X`` lands at pixel ``K @ X / Z``.
        colors: ``(P, 3)`` RGB (float in [0, 1] or uint8); default: the palette colour of ``ids``.
        alpha: opacity of the meshes over the image.
        backend: ``"auto"``, ``"egl"`` or ``"torch"`` (see the module docstring).
        ids: palette index per person (a track id keeps its colour across frames); default 0..P-1.
        shading: ``"smooth"`` (interpolated vertex normals) or ``"flat"`` (one normal per face).
        supersample: render ``n x n`` samples per pixel and average them, for smooth edges.

    Returns:
        ``(H, W, 3)`` uint8, a new array.
    """
    image = _check_image(image)
    if not 0.0 <= alpha <= 1.0:
        raise HmrError(f"alpha must lie in [0, 1], got {alpha}")
    if shading not in ("smooth", "flat"):
        raise HmrError(f"shading must be 'smooth' or 'flat', got {shading!r}")
    if int(supersample) != supersample or supersample < 1:
        raise HmrError(f"supersample must be a positive integer, got {supersample}")
    name = resolve_backend(backend)
    K = check_intrinsics(to_numpy(K, np.float64))
    verts_list, faces_list = check_meshes(meshes, faces)
    if colors is None:
        ids = range(len(verts_list)) if ids is None else ids
        if len(ids) != len(verts_list):
            raise HmrError(f"got {len(ids)} ids for {len(verts_list)} meshes; pass one id per mesh")
        colors = person_colors(ids)
    scene = build_scene(verts_list, faces_list, list(check_colors(colors, len(verts_list))), flat=shading == "flat")
    if scene.is_empty:
        return image.copy()
    height, width = image.shape[:2]
    factor = int(supersample)
    pixels, rgb = _RASTERIZERS[name](scene, _supersampled_K(K, factor), height * factor, width * factor)
    coverage = np.ones(len(pixels), np.float32)
    if factor > 1:
        pixels, coverage, rgb = _downsample(pixels, rgb, factor, width)
    out = image.copy()
    out_pixels = out.reshape(-1, 3)
    blended = out_pixels[pixels] * (1.0 - alpha * coverage[:, None]) + (alpha * 255.0) * rgb * coverage[:, None]
    out_pixels[pixels] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


def rasterize_layers(
    scene: RasterScene,
    K: np.ndarray,
    height: int,
    width: int,
    lighting: Lighting = DEFAULT_LIGHTING,
    backend: str = "auto",
) -> RasterLayers:
    """Colour, camera depth and visible face of every covered pixel of ``scene`` (built with
    :func:`hmr.render.scene.build_scene`), for callers that need more than an overlay: instance
    masks, visibility tests, synthetic images lit their own way."""
    K = check_intrinsics(to_numpy(K, np.float64))
    return _LAYER_RASTERIZERS[resolve_backend(backend)](scene, K, int(height), int(width), lighting)


def _downsample(pixels_fine: np.ndarray, rgb_fine: np.ndarray, factor: int, width: int):
    """Average ``factor x factor`` samples per pixel, sparsely: covered pixels ``(M,)``, their
    coverage fraction ``(M,)`` and the mean colour of their covered samples ``(M, 3)``."""
    rows, cols = np.divmod(pixels_fine, width * factor)
    pixels, inverse = np.unique((rows // factor) * width + cols // factor, return_inverse=True)
    samples = np.bincount(inverse, minlength=len(pixels))
    rgb = np.stack([np.bincount(inverse, weights=rgb_fine[:, c], minlength=len(pixels)) for c in range(3)], axis=1)
    return pixels, (samples / factor**2).astype(np.float32), (rgb / samples[:, None]).astype(np.float32)
