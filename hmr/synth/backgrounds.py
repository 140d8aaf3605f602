"""What the people stand in front of: a procedural ground-and-wall scene, or a user's photos.

The procedural scene is traced per pixel, not rasterized: each pixel's ray meets the ground plane
(``y = 0``) or a back wall (``z = const``) or the sky, and a texture is evaluated at the metric
point it hits, so ground patterns shrink with distance exactly as the camera's perspective says
and the horizon sits where the camera's pitch and roll put it. Textures are multi-octave value
noise, tiles, planks and bricks, each a few vectorised numpy lines. Soft contact shadows darken
the ground under each person.

Photos (``--backgrounds DIR``) are cropped to the image's aspect ratio at a random place and
scale, flipped at random, and stand in for the whole backdrop (people still stand on the
camera's ground plane, which the photo does not show).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from hmr.errors import HmrError
from hmr.media import IMAGE_SUFFIXES
from hmr.synth.scene import Camera

_GROUND_KINDS = ("asphalt", "grass", "tiles", "planks", "sand")
_WALL_KINDS = ("plaster", "bricks", "panels")


def _hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """A float in [0, 1) per integer lattice point: integer hashing, no tables."""
    h = ix.astype(np.uint32) * np.uint32(374761393) + iy.astype(np.uint32) * np.uint32(668265263)
    h = h + np.uint32((seed * 2246822519) & 0xFFFFFFFF)  # uint32 arithmetic wraps, as a hash wants
    h = (h ^ (h >> np.uint32(13))) * np.uint32(1274126177)
    h = h ^ (h >> np.uint32(16))
    return (h & np.uint32(0xFFFFFF)).astype(np.float32) / np.float32(0x1000000)


def value_noise(x: np.ndarray, y: np.ndarray, seed: int, octaves: int = 4) -> np.ndarray:
    """Smooth noise in [0, 1] at real coordinates (one unit = the coarsest cell)."""
    total = np.zeros(np.shape(x), np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        scale = 2.0**octave
        xs, ys = x * scale, y * scale
        x0, y0 = np.floor(xs), np.floor(ys)
        fx, fy = xs - x0, ys - y0
        fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
        x0i, y0i, s = x0.astype(np.int64), y0.astype(np.int64), seed + 7919 * octave
        top = _hash01(x0i, y0i, s) * (1 - fx) + _hash01(x0i + 1, y0i, s) * fx
        bottom = _hash01(x0i, y0i + 1, s) * (1 - fx) + _hash01(x0i + 1, y0i + 1, s) * fx
        total += amplitude * (top * (1 - fy) + bottom * fy)
        norm += amplitude
        amplitude *= 0.5
    return total / norm


def _palette(rng: np.random.Generator, base: Sequence[float] | np.ndarray, spread: float) -> np.ndarray:
    return np.clip(np.asarray(base) * (1 + rng.uniform(-spread, spread, 3)), 0, 1).astype(np.float32)


def _ground_texture(kind: str, x: np.ndarray, z: np.ndarray, rng: np.random.Generator, seed: int) -> np.ndarray:
    """(N, 3) RGB in [0, 1] of ground points (x, z) in metres."""
    if kind == "asphalt":
        base = _palette(rng, [0.33, 0.33, 0.34], 0.3)
        n = value_noise(x * 8, z * 8, seed, 3)
        return base * (0.8 + 0.4 * n)[:, None]
    if kind == "grass":
        base = _palette(rng, [0.25, 0.42, 0.16], 0.3)
        n = value_noise(x * 1.5, z * 1.5, seed, 5)
        return base * (0.6 + 0.7 * n)[:, None]
    if kind == "sand":
        base = _palette(rng, [0.72, 0.62, 0.45], 0.15)
        n = value_noise(x * 3, z * 3, seed, 4)
        return base * (0.85 + 0.3 * n)[:, None]
    if kind == "tiles":
        size = rng.uniform(0.3, 1.0)
        a, b = _palette(rng, [0.75, 0.72, 0.68], 0.3), _palette(rng, [0.45, 0.42, 0.4], 0.4)
        checker = ((np.floor(x / size) + np.floor(z / size)) % 2)[:, None]
        grout = (np.minimum((x / size) % 1, (z / size) % 1) < 0.04)[:, None]
        colour = a * checker + b * (1 - checker)
        return np.where(grout, colour * 0.55, colour) * (0.9 + 0.2 * value_noise(x * 4, z * 4, seed, 2))[:, None]
    # planks
    width = rng.uniform(0.1, 0.25)
    base = _palette(rng, [0.55, 0.38, 0.22], 0.25)
    plank = np.floor(x / width)
    shade = 0.75 + 0.4 * _hash01(plank.astype(np.int64), np.zeros_like(plank, np.int64), seed)
    grain = 0.85 + 0.3 * value_noise(x * 40, z * 2 + plank * 3.1, seed + 1, 2)
    gap = ((x / width) % 1 < 0.05)[:, None]
    colour = base * (shade * grain)[:, None]
    return np.where(gap, colour * 0.5, colour)


def _wall_texture(kind: str, x: np.ndarray, y: np.ndarray, rng: np.random.Generator, seed: int) -> np.ndarray:
    """(N, 3) RGB of wall points (x, y) in metres."""
    if kind == "bricks":
        base, mortar = _palette(rng, [0.55, 0.27, 0.2], 0.3), _palette(rng, [0.7, 0.68, 0.64], 0.1)
        row = np.floor(y / 0.075)
        col = np.floor(x / 0.22 + 0.5 * (row % 2))
        brick = base * (0.8 + 0.4 * _hash01(col.astype(np.int64), row.astype(np.int64), seed))[:, None]
        joint = (((y / 0.075) % 1 < 0.12) | ((x / 0.22 + 0.5 * (row % 2)) % 1 < 0.05))[:, None]
        return np.where(joint, mortar, brick)
    if kind == "panels":
        base = _palette(rng, rng.uniform(0.3, 0.85, 3), 0.1)
        size = rng.uniform(0.6, 2.0)
        seam = ((x / size) % 1 < 0.015)[:, None]
        return np.where(seam, base * 0.5, base * (0.9 + 0.15 * value_noise(x, y, seed, 2))[:, None])
    base = _palette(rng, rng.uniform(0.45, 0.9, 3), 0.1)
    return base * (0.85 + 0.25 * value_noise(x * 2, y * 2, seed, 4))[:, None]


def _sky(rows_up: np.ndarray, rng: np.random.Generator, u: np.ndarray, seed: int) -> np.ndarray:
    """(N, 3) sky colour from the ray's elevation (``rows_up`` in [0, 1]) with soft clouds."""
    horizon, zenith = _palette(rng, [0.82, 0.87, 0.92], 0.08), _palette(rng, [0.35, 0.55, 0.85], 0.25)
    t = np.clip(rows_up, 0, 1)[:, None] ** 0.6
    clouds = np.clip(value_noise(u * 3, rows_up * 6, seed, 5) * 1.6 - 0.7, 0, 1)[:, None] * rng.uniform(0, 1)
    return (horizon * (1 - t) + zenith * t) * (1 - clouds) + clouds * 0.95


def procedural_background(
    rng: np.random.Generator,
    camera: Camera,
    shadows: Sequence[tuple[np.ndarray, float]] = (),
    light_strength: float = 1.0,
) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] of a ground plane, maybe a back wall, and sky.

    ``shadows``: per person, the ground-plane centre (x, z) and radius of its footprint. The scene
    is traced at half resolution and scaled up: a backdrop needs no finer detail than the camera's
    blur leaves, and it is the dearest part of an image otherwise.
    """
    half = _trace(rng, camera, shadows, light_strength, TRACE_SCALE)
    image = Image.fromarray(np.clip(np.rint(half * 255), 0, 255).astype(np.uint8))
    return np.asarray(image.resize((camera.width, camera.height), Image.Resampling.BILINEAR), np.float32) / 255.0


#: the backdrop is traced at this fraction of the image resolution
TRACE_SCALE = 0.5


def _trace(
    rng: np.random.Generator,
    camera: Camera,
    shadows: Sequence[tuple[np.ndarray, float]],
    light_strength: float,
    scale: float,
) -> np.ndarray:
    h, w = max(1, round(camera.height * scale)), max(1, round(camera.width * scale))
    seed = int(rng.integers(0, 2**31))
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    # pixel centres of the traced grid, in image pixels
    v, u = (v + 0.5) / scale - 0.5, (u + 0.5) / scale - 0.5
    rays_cam = np.stack(
        [(u - camera.K[0, 2]) / camera.K[0, 0], (v - camera.K[1, 2]) / camera.K[1, 1], np.ones_like(u)], -1
    )
    rays = rays_cam.reshape(-1, 3) @ camera.R_wc  # world directions
    origin = camera.center_world
    t_ground = np.where(rays[:, 1] < -1e-6, -origin[1] / np.minimum(rays[:, 1], -1e-6), np.inf)
    wall_z = rng.uniform(6.0, 40.0) if rng.random() < 0.6 else np.inf
    wall_height = rng.uniform(2.5, 30.0)
    t_wall = np.where(rays[:, 2] > 1e-6, (wall_z - origin[2]) / np.maximum(rays[:, 2], 1e-6), np.inf)
    wall_y = origin[1] + t_wall * rays[:, 1]
    t_wall = np.where((wall_y >= 0) & (wall_y <= wall_height), t_wall, np.inf)
    out = np.zeros((h * w, 3), np.float32)
    ground = np.isfinite(t_ground) & (t_ground <= t_wall)
    wall = np.isfinite(t_wall) & ~ground
    sky = ~(ground | wall)
    if ground.any():
        hit = origin + t_ground[ground, None] * rays[ground]
        colour = _ground_texture(str(rng.choice(_GROUND_KINDS)), hit[:, 0], hit[:, 2], rng, seed)
        # where one traced pixel covers more ground than a pattern's period, the pattern would alias
        # into moire: fade it into its mean colour by the pixel's ground footprint, then a light haze
        cos_incidence = np.maximum(-rays[ground, 1] / np.linalg.norm(rays[ground], axis=1), 0.02)
        detail = np.clip(1.5 - t_ground[ground] / (scale * camera.K[1, 1]) / cos_incidence / 0.15, 0.0, 1.0)[:, None]
        colour = colour * detail + colour.mean(0) * (1 - detail)
        haze = (1 - np.exp(-t_ground[ground] / 80.0))[:, None]
        colour = colour * (1 - haze) + 0.7 * haze
        for center, radius in shadows:
            d2 = (hit[:, 0] - center[0]) ** 2 + (hit[:, 2] - center[1]) ** 2
            colour = colour * (1 - 0.45 * light_strength * np.exp(-d2 / (0.6 * radius) ** 2))[:, None]
        out[ground] = colour
    if wall.any():
        hit = origin + t_wall[wall, None] * rays[wall]
        colour = _wall_texture(str(rng.choice(_WALL_KINDS)), hit[:, 0], hit[:, 1], rng, seed + 2)
        cos_incidence = np.maximum(rays[wall, 2] / np.linalg.norm(rays[wall], axis=1), 0.02)
        detail = np.clip(1.5 - t_wall[wall] / (scale * camera.K[1, 1]) / cos_incidence / 0.05, 0.0, 1.0)[:, None]
        out[wall] = (colour * detail + colour.mean(0) * (1 - detail)) * rng.uniform(0.7, 1.0)
    if sky.any():
        elevation = np.arcsin(np.clip(rays[sky, 1] / np.linalg.norm(rays[sky], axis=1), -1, 1)) / (math.pi / 2)
        out[sky] = _sky(elevation, rng, u.reshape(-1)[sky] / w, seed + 3)
    return out.reshape(h, w, 3).clip(0, 1)


def list_background_photos(folder: str | Path) -> list[Path]:
    """The photos of ``folder`` (recursive, sorted so every run sees the same list)."""
    root = Path(folder)
    if not root.is_dir():
        raise HmrError(f"--backgrounds {root} is not a folder; pass a folder of photos")
    photos = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not photos:
        raise HmrError(f"--backgrounds {root} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return photos


def photo_background(path: Path, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1]: a random crop of the photo with the image's aspect ratio.

    Raises HmrError (one line) when the file cannot be read as an image.
    """
    try:
        with Image.open(path) as im:
            photo = im.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise HmrError(f"background {path} is not a readable image ({type(e).__name__}); it is skipped") from e
    pw, ph = photo.size
    crop_scale = rng.uniform(0.5, 1.0)
    cw = min(pw, ph * width / height) * crop_scale
    ch = cw * height / width
    x0, y0 = rng.uniform(0, pw - cw), rng.uniform(0, ph - ch)
    crop = photo.resize((width, height), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(crop, np.float32) / 255.0


def readable_photos(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The photos that decode, and (file, one-line reason) for those that do not.

    Checked once up front (a reduced-size JPEG decode is cheap) so that a bad file is reported
    once, not by every worker that happens to draw it.
    """
    good, bad = [], []
    for path in paths:
        try:
            with Image.open(path) as im:
                im.draft("RGB", (64, 64))
                im.load()
            good.append(path)
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
            bad.append((str(path), f"not a readable image ({type(e).__name__}); skipped"))
    return good, bad
