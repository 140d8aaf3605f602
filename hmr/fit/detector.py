"""Multi-person seeds from BlazePose's bundled person detector, run over image tiles.

The detector sees a 224 x 224 letterboxed view and was trained on people who fill much of the
frame; on a whole group photo it finds the largest one or two. Running it on the whole image and
on overlapping square tiles at two scales, then merging the hits, finds people from about a
fifth of the image height up. Each hit carries BlazePose's alignment points: the hip centre and
a point on the circle that encloses the body, which is all a landmark region needs.

The detector finds people by their face, so a body whose head the image border cuts off is never
seeded. :func:`border_seeds` covers those: body circles laid along each border, placed as a cut
body would be (hip centre just inside the top edge for a head cut off above, and so on), for the
landmark stage to refine and to accept only where it finds a body that the border cuts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hmr.fit.mp_graphs import DETECTION_GRAPH, build_graph, run_graph


@dataclass
class PersonSeed:
    """One detected person: where to look for their landmarks, in image pixels."""

    score: float
    center_px: np.ndarray  # (2,) hip centre
    radius_px: float  # radius of the circle that encloses the body
    angle_rad: float  # body tilt: rotation that makes the hip -> head direction point up
    #: laid along the border by :func:`border_seeds` rather than detected: needs stricter checks
    at_border: bool = False


def seed_from_points(center_px: np.ndarray, scale_px: np.ndarray, score: float) -> PersonSeed:
    """A seed from BlazePose's two alignment points (hip centre, body-circle point above it)."""
    delta = np.asarray(scale_px, np.float64) - np.asarray(center_px, np.float64)
    # image y points down: an upright body has delta = (0, -r) and angle 0
    angle = math.pi / 2 - math.atan2(-delta[1], delta[0])
    angle = (angle + math.pi) % (2 * math.pi) - math.pi
    return PersonSeed(float(score), np.asarray(center_px, np.float64), float(np.hypot(*delta)), angle)


def image_tiles(width: int, height: int, levels: int = 2, min_side_px: int = 96) -> list[tuple[int, int, int]]:
    """Square tiles ``(x0, y0, side)`` in pixels: the whole image (letterboxed by the graph, so
    marked by ``side = 0``), then squares of the short side and of half of it, overlapping by
    a third so that a person cut by one tile is whole in a neighbour."""
    tiles = [(0, 0, 0)]
    short = min(width, height)
    for level in range(levels):
        side = short // (2**level)
        if side < min_side_px:
            break
        step = side * 2 / 3
        nx = max(1, math.ceil((width - side) / step) + 1)
        ny = max(1, math.ceil((height - side) / step) + 1)
        for ix in range(nx):
            for iy in range(ny):
                x0 = 0 if nx == 1 else round(ix * (width - side) / (nx - 1))
                y0 = 0 if ny == 1 else round(iy * (height - side) / (ny - 1))
                if side == short and (nx, ny) == (1, 1) and width == height:
                    continue  # the whole image already
                tiles.append((x0, y0, side))
    return tiles


#: body-circle radii of the border seeds, as shares of the image height: people cut by the border are
#: large (small ones are whole, and the detector sees them)
BORDER_RADII = (0.2, 0.35, 0.55)


def border_seeds(width: int, height: int, radii: tuple[float, ...] = BORDER_RADII) -> list[PersonSeed]:
    """Upright body circles along the four borders, one radius apart, for bodies the border cuts.

    Top: hip centre half a radius below the edge (head and shoulders above it); bottom: hip centre
    near the edge (legs below it); left / right: hip centre just inside the edge (half the body
    outside). A seed is a hypothesis only: the landmark stage keeps it if a stable, cut body is there.
    """
    seeds = []
    for share in radii:
        r = share * height
        xs = np.arange(r / 2, max(width - r / 2, r / 2) + 1, r)
        ys = np.arange(r / 2, max(height - r / 2, r / 2) + 1, r)
        for x in xs:
            seeds.append(PersonSeed(0.0, np.array([x, 0.5 * r]), r, 0.0, at_border=True))
            seeds.append(PersonSeed(0.0, np.array([x, height - 0.3 * r]), r, 0.0, at_border=True))
        for y in ys:
            seeds.append(PersonSeed(0.0, np.array([0.1 * r, y]), r, 0.0, at_border=True))
            seeds.append(PersonSeed(0.0, np.array([width - 0.1 * r, y]), r, 0.0, at_border=True))
    return seeds


def same_body(a: PersonSeed, b: PersonSeed, center_tol: float = 0.35, radius_ratio: float = 1.6) -> bool:
    """Whether two seeds are one person seen twice: hip centres within ``center_tol`` radii and
    body circles of similar size (a child in front of an adult is not merged with them)."""
    ratio = max(a.radius_px, b.radius_px) / max(min(a.radius_px, b.radius_px), 1e-6)
    close = np.linalg.norm(a.center_px - b.center_px) < center_tol * max(a.radius_px, b.radius_px)
    return bool(close and ratio < radius_ratio)


def merge_seeds(seeds: list[PersonSeed]) -> list[PersonSeed]:
    """Greedy non-maximum suppression on body circles, best score first (see :func:`same_body`)."""
    kept: list[PersonSeed] = []
    for seed in sorted(seeds, key=lambda s: -s.score):
        if not any(same_body(seed, best) for best in kept):
            kept.append(seed)
    return kept


class PersonDetector:
    """Seeds for every person in an image (see the module docstring).

    ``score_threshold`` is lower than BlazePose's own 0.5: people seen from behind or small score
    0.4-0.6, and the landmark stage that follows rejects regions without a body.
    """

    def __init__(self, score_threshold: float = 0.4, levels: int = 2) -> None:
        self.score_threshold = score_threshold
        self.levels = levels
        self._graph = build_graph(DETECTION_GRAPH, detection_score=score_threshold)

    def tile_seeds(self, image_rgb: np.ndarray, tile: tuple[int, int, int]) -> list[PersonSeed]:
        """Seeds found in one tile, in full-image pixels."""
        x0, y0, side = tile
        if side == 0:
            crop, (w, h) = image_rgb, image_rgb.shape[1::-1]
        else:
            crop, (w, h) = np.ascontiguousarray(image_rgb[y0 : y0 + side, x0 : x0 + side]), (side, side)
        detections = run_graph(self._graph, crop).detections or []
        seeds = []
        for det in detections:
            points = np.array([(x0 + k.x * w, y0 + k.y * h) for k in det.location_data.relative_keypoints])
            seeds.append(seed_from_points(points[0], points[1], det.score[0]))
        return seeds

    def detect(self, image_rgb: np.ndarray) -> list[PersonSeed]:
        """Merged seeds, best first. ``image_rgb``: (H, W, 3) uint8."""
        image_rgb = np.ascontiguousarray(image_rgb)
        height, width = image_rgb.shape[:2]
        seeds: list[PersonSeed] = []
        for tile in image_tiles(width, height, self.levels):
            seeds.extend(self.tile_seeds(image_rgb, tile))
        return merge_seeds(seeds)
