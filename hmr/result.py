"""Typed results: what every backend (network, ONNX, keypoint fitting) returns.

Everything is numpy, in the camera frame of the ORIGINAL image (metres, +x right, +y down,
+z forward) and in that image's pixels, so results can be written, compared or sent over the
wire without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from hmr.atomic import atomic_path


@dataclass
class Person:
    """One detected person.

    ``rotvec`` holds the body model's rotations in axis-angle (for SMPL-X: global, 21 body,
    15 left hand, 15 right hand, jaw). ``betas`` holds the shape coefficients (for Anny: its
    phenotype values, named in ``ImageResult.shape_names``). ``params`` keeps every named
    parameter block as the body model takes it, so the body can be re-posed exactly.
    """

    score: float
    loc: np.ndarray  # (2,) person centre (head), original-image pixels
    transl: np.ndarray  # (3,) head joint, camera frame, m
    transl_pelvis: np.ndarray  # (3,) pelvis joint, camera frame, m
    rotvec: np.ndarray  # (J, 3) rad
    betas: np.ndarray  # (B,)
    expression: np.ndarray  # (E,) (empty when the body model has none)
    vertices: np.ndarray  # (V, 3) camera frame, m
    joints_3d: np.ndarray  # (K, 3) camera frame, m
    joints_2d: np.ndarray  # (K, 2) original-image pixels
    params: dict[str, np.ndarray] = field(default_factory=dict)
    track_id: int = -1


_STACKED = ("loc", "transl", "transl_pelvis", "rotvec", "betas", "expression", "vertices", "joints_3d", "joints_2d")

#: per-person trailing shape of every stacked output: the keys of ``_STACKED`` and ``param_<name>``
PersonShapes = dict[str, tuple[int, ...]]


def person_shapes(person: Person) -> PersonShapes:
    """The trailing shapes a result holding ``person`` has; backends take them from a template
    person, so that a result with nobody in it still says V, J and every parameter block."""
    shapes = {key: tuple(np.shape(getattr(person, key))) for key in _STACKED}
    shapes.update({f"param_{name}": tuple(np.shape(value)) for name, value in person.params.items()})
    return shapes


@dataclass
class ImageResult:
    """All persons of one image, plus the camera they are expressed in."""

    persons: list[Person]
    K: np.ndarray  # (3, 3) intrinsics of the original image
    image_size: tuple[int, int]  # (width, height) of the original image
    body_model: str
    faces: np.ndarray  # (F, 3) mesh triangles, shared by all persons
    shape_names: list[str] = field(default_factory=list)
    message: str = ""  # e.g. why nobody was found; empty when all went well
    #: trailing shapes of the stacked outputs (see :func:`person_shapes`), so P = 0 keeps the schema
    person_shapes: PersonShapes = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.persons)

    def stacked(self) -> dict[str, np.ndarray]:
        """The output schema of DESIGN.md as arrays with a leading person axis.

        P may be 0: the keys and trailing shapes are then those of ``person_shapes``, the same as
        for an image with people, so a folder of results concatenates and indexes alike.
        """
        out: dict[str, np.ndarray] = {
            "scores": np.asarray([p.score for p in self.persons], np.float32).reshape(-1),
        }
        param_names = {n for p in self.persons for n in p.params} or {
            k.removeprefix("param_") for k in self.person_shapes if k.startswith("param_")
        }
        for key in (*_STACKED, *(f"param_{n}" for n in sorted(param_names))):
            if self.persons:
                out[key] = np.stack([np.asarray(_person_value(p, key), np.float32) for p in self.persons])
            else:
                out[key] = np.zeros((0, *self.person_shapes.get(key, (0,))), np.float32)
        out["track_id"] = np.asarray([p.track_id for p in self.persons], np.int64)
        out["K"] = np.asarray(self.K, np.float32)
        out["image_size"] = np.asarray(self.image_size, np.int64)
        out["body_model"] = np.asarray(self.body_model)
        if self.shape_names:
            out["shape_names"] = np.asarray(self.shape_names)
        return out

    def to_npz(self, path: str | Path) -> Path:
        """Write the per-image ``.npz`` atomically; loadable with ``allow_pickle=False``."""
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                # Any: mypy would match the arrays against savez's allow_pickle keyword too
                np.savez(fh, **cast("dict[str, Any]", self.stacked()))
        return Path(path)

    def to_glb(self, path: str | Path) -> Path:
        """Meshes in the camera frame plus the camera, as a ``.glb`` any glTF viewer opens."""
        from hmr.render import write_glb

        write_glb(
            path,
            [p.vertices for p in self.persons],
            self.faces,
            self.K,
            self.image_size,
            names=[f"person_{i}" for i in range(len(self.persons))],
        )
        return Path(path)

    def render_overlay(self, image: np.ndarray, K_image: np.ndarray | None = None) -> np.ndarray:
        """The meshes drawn over ``image`` (RGB uint8), nearer people occluding farther ones.

        ``K_image`` is the intrinsics of ``image`` when it is a resized copy of the original.
        """
        from hmr.render import render_overlay

        ids = [p.track_id if p.track_id >= 0 else i for i, p in enumerate(self.persons)]
        return render_overlay(
            image, [p.vertices for p in self.persons], self.faces, self.K if K_image is None else K_image, ids=ids
        )


def _person_value(person: Person, key: str) -> np.ndarray:
    return person.params[key.removeprefix("param_")] if key.startswith("param_") else getattr(person, key)
