"""Where the camera is and where the people stand: a ground plane seen by a random camera.

World frame: y up, ground plane ``y = 0``, metres. The camera stands at ``(0, height, 0)`` looking
along +z, pitched down, rolled a little; its frame is OpenCV's (x right, y down, z forward), and
``x_cam = R_wc @ (x_world - C)``. People are placed one at a time on the ground: each gets a
target size in the image (which sets its distance) and a target role, whole or cut by the image
border (about a fifth of the people, by default), and placements are retried until the projected
body plays that role and its footprint stays clear of the people already standing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hmr.camera import intrinsics_from_fov, project, rotvec_to_matrix


@dataclass(frozen=True)
class CameraRanges:
    """What the camera sampler draws from (degrees, metres)."""

    fov_deg: tuple[float, float] = (30.0, 100.0)  # across the longer image side
    height_m: tuple[float, float] = (0.7, 2.2)
    high_height_m: tuple[float, float] = (2.5, 6.0)
    high_share: float = 0.15  # cameras on a pole or a balcony, looking down more steeply
    pitch_deg: tuple[float, float] = (-5.0, 20.0)  # down is positive
    high_pitch_deg: tuple[float, float] = (15.0, 45.0)
    roll_deg: float = 8.0  # uniform in +- this


@dataclass(frozen=True)
class Camera:
    """A sampled pinhole camera: intrinsics of the image and its pose in the world."""

    K: np.ndarray  # (3, 3)
    R_wc: np.ndarray  # (3, 3) world -> camera rotation
    center_world: np.ndarray  # (3,) camera position, metres
    width: int
    height: int
    fov_deg: float
    pitch_deg: float
    roll_deg: float

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> camera frame."""
        return (np.asarray(points_world) - self.center_world) @ self.R_wc.T


def camera_rotation(pitch_deg: float, roll_deg: float) -> np.ndarray:
    """World -> camera rotation of a camera looking along world +z, pitched down, then rolled about its axis."""
    pitch = math.radians(pitch_deg)
    forward = np.array([0.0, -math.sin(pitch), math.cos(pitch)])
    down = np.array([0.0, -math.cos(pitch), -math.sin(pitch)])
    right = np.cross(down, forward)
    roll = rotvec_to_matrix(forward * math.radians(roll_deg))
    return np.stack([roll @ right, roll @ down, forward])


def sample_camera(rng: np.random.Generator, width: int, height: int, ranges: CameraRanges = CameraRanges()) -> Camera:
    high = rng.random() < ranges.high_share
    fov = rng.uniform(*ranges.fov_deg)
    cam_height = rng.uniform(*(ranges.high_height_m if high else ranges.height_m))
    pitch = rng.uniform(*(ranges.high_pitch_deg if high else ranges.pitch_deg))
    roll = rng.uniform(-ranges.roll_deg, ranges.roll_deg)
    return Camera(
        K=intrinsics_from_fov(width, height, fov),
        R_wc=camera_rotation(pitch, roll),
        center_world=np.array([0.0, cam_height, 0.0]),
        width=width,
        height=height,
        fov_deg=fov,
        pitch_deg=pitch,
        roll_deg=roll,
    )


#: placement tests use every n-th vertex: shares to within a percent, at a fraction of the cost
PLACEMENT_STRIDE = 8


@dataclass(frozen=True)
class PlacementRules:
    """How people are spread over the image."""

    border_share: float = 0.2  # people meant to be cut by the image border
    border_inside: tuple[float, float] = (0.35, 0.75)  # share of a cut body's vertices inside the image
    whole_inside: float = 0.98  # share of a whole body's vertices inside the image
    size_share: tuple[float, float] = (0.22, 0.9)  # projected height / image height, log-uniform
    min_depth_m: float = 1.0
    max_depth_m: float = 25.0
    clearance_m: float = 0.05  # gap kept between footprints
    tries: int = 30


@dataclass(frozen=True)
class Placement:
    """One placed person: ``x_world = rotation @ x_body + translation_world`` for body-frame points."""

    rotation: np.ndarray  # (3, 3)
    translation_world: np.ndarray  # (3,)
    role: str  # "whole" or "border"
    inside_share: float  # share of the vertices that project inside the image


def _inside_share(camera: Camera, verts_world: np.ndarray) -> float:
    cam = camera.to_camera(verts_world)
    front = cam[:, 2] > 0.05
    uv = project(cam[front], camera.K)
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < camera.width) & (uv[:, 1] >= 0) & (uv[:, 1] < camera.height)
    return float(inside.sum()) / len(verts_world)


def _footprint(verts_world: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (x, z) and radius of the circle around a body's ground-plane shadow."""
    xz = verts_world[:, [0, 2]]
    center = 0.5 * (xz.min(0) + xz.max(0))
    return center, float(np.linalg.norm(xz - center, axis=1).max())


class Placer:
    """Places the people of one image in turn, keeping their footprints apart."""

    def __init__(self, camera: Camera, rules: PlacementRules = PlacementRules()) -> None:
        self.camera, self.rules = camera, rules
        self.footprints: list[tuple[np.ndarray, float]] = []

    def place(
        self, rng: np.random.Generator, verts_body: np.ndarray, lift_m: float = 0.0, yaw_sigma_deg: float = 60.0
    ) -> Placement | None:
        """Stand a body (vertices in its own frame, root orientation applied) on the ground, or
        None when no free spot plays a valid role within the tries.

        Yaw is relative to facing the camera, drawn from a normal with ``yaw_sigma_deg``: photos
        show more fronts than backs. ``lift_m`` raises the body off the ground (a jump).
        """
        rules, cam = self.rules, self.camera
        role = "border" if rng.random() < rules.border_share else "whole"
        stand_height = float(np.ptp(verts_body[:, 1]))
        focal = cam.K[1, 1]
        for _ in range(rules.tries):
            yaw = math.pi + math.radians(rng.normal(0.0, yaw_sigma_deg))  # pi: facing the camera
            rotation = rotvec_to_matrix(np.array([0.0, yaw, 0.0]))
            verts = verts_body @ rotation.T
            size = math.exp(rng.uniform(*np.log(rules.size_share)))
            depth = float(
                np.clip(focal * max(stand_height, 0.3) / (size * cam.height), rules.min_depth_m, rules.max_depth_m)
            )
            # a spot on the camera's view of the ground: a pixel column, then that depth along its ray
            u = rng.uniform(-0.1, 1.1) * cam.width if role == "border" else rng.uniform(0.1, 0.9) * cam.width
            ray_cam = np.array([(u - cam.K[0, 2]) / cam.K[0, 0], 0.0, 1.0])
            ray_world = cam.R_wc.T @ ray_cam
            ground = cam.center_world + depth * ray_world / max(ray_world[2], 1e-3)
            translation = np.array([ground[0], lift_m - verts[:, 1].min(), ground[2]])
            placed = verts + translation
            center, radius = _footprint(placed)
            if any(np.linalg.norm(center - c) < radius + r + rules.clearance_m for c, r in self.footprints):
                continue
            share = _inside_share(cam, placed[::PLACEMENT_STRIDE])
            ok = (
                rules.border_inside[0] <= share <= rules.border_inside[1]
                if role == "border"
                else share >= rules.whole_inside
            )
            if not ok:
                continue
            self.footprints.append((center, radius))
            return Placement(rotation, translation, role, share)
        return None
