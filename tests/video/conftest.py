"""Synthetic persons, videos and a stand-in network for the video tests.

The stand-in "network" finds bright squares in a frame and returns one person per square, placed
3 m in front of the camera under the square's centre, so the pipeline can be checked end to end
on videos the tests draw themselves.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from hmr.camera import intrinsics_from_fov
from hmr.result import ImageResult, Person, person_shapes

# A tiny "skeleton" and "mesh" around the pelvis, body frame, metres.
JOINT_OFFSETS = np.array([[0, 0, 0], [0, -0.5, 0], [0, -0.75, 0], [0.2, -0.45, 0], [-0.2, -0.45, 0]], float)
VERTEX_OFFSETS = np.array([[x, y, z] for x in (-0.2, 0.2) for y in (-0.8, 0.1) for z in (-0.1, 0.1)], float)
NUM_ROTATIONS = 3
FACES = np.array([[0, 2, 4], [2, 6, 4]], np.int64)  # the box side facing the camera


def make_person(pelvis_m, K, global_rotvec=(0.0, 0.0, 0.0), score: float = 0.9, betas=(0.1, -0.2)) -> Person:
    """A rigid synthetic body: joints, vertices and projections consistent with ``pelvis_m`` and ``K``."""
    pelvis = np.asarray(pelvis_m, float)
    rot = Rotation.from_rotvec(global_rotvec)
    joints = pelvis + rot.apply(JOINT_OFFSETS)
    vertices = pelvis + rot.apply(VERTEX_OFFSETS)
    rotvec = np.zeros((NUM_ROTATIONS, 3))
    rotvec[0] = global_rotvec
    uvw = joints @ np.asarray(K).T
    joints_2d = uvw[:, :2] / uvw[:, 2:]
    return Person(
        score=score,
        loc=joints_2d[2].astype(np.float32),
        transl=joints[2].astype(np.float32),
        transl_pelvis=pelvis.astype(np.float32),
        rotvec=rotvec.astype(np.float32),
        betas=np.asarray(betas, np.float32),
        expression=np.zeros(0, np.float32),
        vertices=vertices.astype(np.float32),
        joints_3d=joints.astype(np.float32),
        joints_2d=joints_2d.astype(np.float32),
        params={"global_orient": rotvec[:1].astype(np.float32)},
    )


def make_result(persons: list[Person], K, size=(320, 240)) -> ImageResult:
    """As a backend returns it: with the schema of its persons even when there are none."""
    return ImageResult(
        persons=persons,
        K=np.asarray(K, np.float64),
        image_size=size,
        body_model="synthetic",
        faces=FACES,
        person_shapes=person_shapes(make_person((0.0, 0.0, 3.0), K)),
    )


class SquareFinder:
    """Stand-in network: one person per bright square, 3 m deep under the square's centre."""

    depth_m = 3.0

    def __init__(self) -> None:
        self.calls = 0
        self.frames_seen = 0

    def __call__(self, frames: list[np.ndarray], K: np.ndarray | None) -> list[ImageResult]:
        self.calls += 1
        self.frames_seen += len(frames)
        results = []
        for frame in frames:
            height, width = frame.shape[:2]
            K_frame = intrinsics_from_fov(width, height) if K is None else np.asarray(K)
            labels, count = ndimage.label(frame.mean(-1) > 128)
            persons = []
            for centre_rc in ndimage.center_of_mass(np.ones_like(labels), labels, range(1, count + 1)):
                ray = np.linalg.inv(K_frame) @ np.array([centre_rc[1], centre_rc[0], 1.0])
                persons.append(make_person(ray * self.depth_m, K_frame))
            results.append(make_result(persons, K_frame, (width, height)))
        return results


def draw_squares(width: int, height: int, centres_px, half: int = 6) -> np.ndarray:
    image = np.full((height, width, 3), 30, np.uint8)
    for cx, cy in centres_px:
        x, y = int(round(cx)), int(round(cy))
        image[max(0, y - half) : y + half, max(0, x - half) : x + half] = 230
    return image


def write_video(
    path: Path,
    frames: list[np.ndarray],
    times_s=None,
    fps: int = 30,
    rotation_deg: int = 0,
    container_options: dict | None = None,
) -> Path:
    """H.264 video of ``frames`` shown at ``times_s`` (default: constant ``fps``)."""
    time_base = Fraction(1, 1000)
    times_s = np.arange(len(frames)) / fps if times_s is None else np.asarray(times_s)
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", options=container_options or {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.codec_context.time_base = time_base
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if rotation_deg:
            stream.set_display_rotation(rotation_deg)
        for image, t in zip(frames, times_s):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = int(round(t * 1000)), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def read_frame_times(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.array([float(f.time) for f in container.decode(video=0)])


class Synth:
    """The helpers above, handed to tests as the ``synth`` fixture (conftest modules are not importable)."""

    make_person = staticmethod(make_person)
    make_result = staticmethod(make_result)
    draw_squares = staticmethod(draw_squares)
    write_video = staticmethod(write_video)
    read_frame_times = staticmethod(read_frame_times)
    SquareFinder = SquareFinder
    FACES = FACES


@pytest.fixture
def synth() -> type[Synth]:
    return Synth


@pytest.fixture
def K_default() -> np.ndarray:
    return intrinsics_from_fov(320, 240)
