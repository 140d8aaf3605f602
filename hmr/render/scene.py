"""Input checks and the merged triangle list that both rasterizers draw.

Every person goes into one vertex/face list so a single depth test resolves occlusion between
people. Flat shading is turned into smooth shading over unshared vertices that carry their face
normal, so the rasterizers only know one shading path and cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hmr.errors import HmrError

# Faces with a vertex nearer than this are dropped before rasterizing. Both backends drop the same
# faces (GL would otherwise clip them at its near plane, which the torch rasterizer does not do), so
# their pictures agree.
NEAR_M = 0.01


@dataclass(frozen=True)
class Lighting:
    """Two-sided Lambert shading in the camera frame: ``colour * (ambient + diffuse * max(n . l, 0))``.

    ``to_light_cam`` is the unit direction from a surface towards the light, in the camera frame
    (OpenCV axes: -y is up, -z points back at the viewer).
    """

    to_light_cam: tuple[float, float, float]
    ambient: float
    diffuse: float

    def __post_init__(self) -> None:
        direction = np.asarray(self.to_light_cam, np.float64)
        if direction.shape != (3,) or not np.isfinite(direction).all() or np.linalg.norm(direction) < 1e-9:
            raise HmrError(f"light direction must be a finite non-zero 3-vector, got {self.to_light_cam}")
        unit = direction / np.linalg.norm(direction)
        object.__setattr__(self, "to_light_cam", tuple(float(x) for x in unit))
        if not (self.ambient >= 0 and self.diffuse >= 0):
            raise HmrError(f"ambient and diffuse must be non-negative, got {self.ambient}, {self.diffuse}")


#: overlays: a light above-left of the camera, plus ambient so faces turned away keep their colour
DEFAULT_LIGHTING = Lighting((-0.3, -0.5, -1.0), ambient=0.35, diffuse=0.65)


@dataclass(frozen=True)
class RasterScene:
    """All persons as one indexed triangle list in the camera frame (OpenCV axes, metres).

    ``verts_cam (N, 3)``, ``normals_cam (N, 3)`` unit, ``colors (N, 3)`` RGB in [0, 1] (interpolated
    across each face by both rasterizers), all float32; ``faces (F, 3)`` int32 indices into them,
    every vertex of every face at ``z >= NEAR_M``. ``mesh_face_counts (P,)`` says how many faces of
    ``faces`` (in order) belong to each input mesh and ``source_face (F,)`` which face of its
    mesh's input each one is, so a drawn face maps back to its mesh and triangle.
    """

    verts_cam: np.ndarray
    normals_cam: np.ndarray
    colors: np.ndarray
    faces: np.ndarray
    mesh_face_counts: np.ndarray
    source_face: np.ndarray

    @property
    def is_empty(self) -> bool:
        return len(self.faces) == 0

    def mesh_of_faces(self, face_index: np.ndarray) -> np.ndarray:
        """Index of the input mesh each face of ``face_index`` (rows of ``faces``) belongs to."""
        return np.searchsorted(np.cumsum(self.mesh_face_counts), face_index, side="right")


@dataclass(frozen=True)
class RasterLayers:
    """What a rasterizer sees at every covered pixel (flat indices ``row * W + col``, ascending).

    ``rgb (M, 3)`` float32 shaded colour in [0, 1]; ``depth_m (M,)`` float32 camera z of the
    visible surface; ``face (M,)`` int64 row of the scene's ``faces`` that is visible there.
    """

    pixels: np.ndarray
    rgb: np.ndarray
    depth_m: np.ndarray
    face: np.ndarray


def to_numpy(x: Any, dtype: Any) -> np.ndarray:
    """numpy or torch (any device, with grad) -> numpy array of ``dtype``."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _ndim(x: Any) -> int:
    return x.ndim if hasattr(x, "ndim") else np.ndim(x)


def check_meshes(meshes: Sequence[Any], faces: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Vertices ``(V_i, 3)`` float64 and faces ``(F_i, 3)`` int64 of each person.

    ``faces`` is one ``(F, 3)`` array shared by every person (one body model) or a sequence with
    one ``(F_i, 3)`` array per person.
    """
    verts_list = [to_numpy(v, np.float64) for v in meshes]
    for i, verts in enumerate(verts_list):
        if verts.ndim != 2 or verts.shape[1] != 3:
            raise HmrError(f"mesh {i} has vertices of shape {verts.shape}; pass (V, 3) arrays in metres")
    per_person = isinstance(faces, (list, tuple)) and all(_ndim(f) == 2 for f in faces)
    if per_person and len(faces) != len(verts_list):
        raise HmrError(f"got {len(faces)} face arrays for {len(verts_list)} meshes; pass one per mesh or one shared")
    faces_list = [to_numpy(f, np.int64) for f in faces] if per_person else [to_numpy(faces, np.int64)] * len(verts_list)
    for i, (verts, tris) in enumerate(zip(verts_list, faces_list, strict=True)):
        if tris.ndim != 2 or tris.shape[1] != 3:
            raise HmrError(f"faces of mesh {i} have shape {tris.shape}; pass (F, 3) vertex indices")
        if len(tris) and (tris.min() < 0 or tris.max() >= len(verts)):
            raise HmrError(
                f"faces of mesh {i} index vertex {tris.max()} but the mesh has {len(verts)}; "
                "pass the faces of the same body model"
            )
    return verts_list, faces_list


def check_colors(colors: Any, n_meshes: int) -> np.ndarray:
    """``(P, 3)`` RGB as floats in [0, 1] or integers in [0, 255] -> float32 in [0, 1]."""
    arr = to_numpy(colors, None)
    if arr.shape != (n_meshes, 3):
        raise HmrError(f"colors has shape {arr.shape}; pass one RGB triple per mesh, shape ({n_meshes}, 3)")
    if np.issubdtype(arr.dtype, np.integer):
        return (arr / 255.0).clip(0, 1).astype(np.float32)
    arr = arr.astype(np.float32)
    if arr.size and (not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1):
        raise HmrError("float colors must lie in [0, 1]; pass uint8 values for the 0-255 range")
    return arr


def _face_normals(verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Unnormalised face normals (length = twice the area), ``(F, 3)``."""
    corners = verts[tris]
    e1 = corners[:, 1] - corners[:, 0]
    e2 = corners[:, 2] - corners[:, 0]
    return np.stack(
        [
            e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1],
            e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2],
            e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0],
        ],
        axis=1,
    )


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Normalise rows; zero rows (isolated or degenerate geometry) face the camera instead."""
    length = np.linalg.norm(vectors, axis=1, keepdims=True)
    out = vectors / np.maximum(length, 1e-20)
    out[length[:, 0] <= 1e-20] = (0.0, 0.0, -1.0)
    return out


def build_scene(
    verts_list: list[np.ndarray], faces_list: list[np.ndarray], colors: Sequence[np.ndarray], flat: bool
) -> RasterScene:
    """Merge persons into one :class:`RasterScene`, dropping faces that cannot be drawn.

    ``colors`` holds per mesh one RGB ``(3,)`` or one per vertex ``(V_i, 3)``, floats in [0, 1].
    Faces with a non-finite vertex or a vertex nearer than :data:`NEAR_M` (behind the camera) are
    dropped. Smooth normals are area-weighted averages of the adjacent face normals.
    """
    parts_v, parts_n, parts_c, parts_f, parts_src = [], [], [], [], []
    face_counts = []
    offset = 0
    for verts, tris, color in zip(verts_list, faces_list, colors, strict=True):
        color = np.broadcast_to(np.asarray(color, np.float32), (len(verts), 3))
        finite = np.isfinite(verts).all(axis=1)
        finite_faces = None
        if not finite.all():
            finite_faces = finite[tris].all(axis=1)
            tris = tris[finite_faces]
            verts = np.where(finite[:, None], verts, 0.0)
        verts = verts.astype(np.float32)
        face_n = _face_normals(verts, tris)
        in_front = (verts[:, 2] >= NEAR_M)[tris].all(axis=1)
        source = np.flatnonzero(finite_faces)[in_front] if finite_faces is not None else np.flatnonzero(in_front)
        if flat:
            tris, face_n = tris[in_front], face_n[in_front]
            verts = verts[tris].reshape(-1, 3)
            color = color[tris].reshape(-1, 3)
            normals = np.repeat(_unit(face_n), 3, axis=0)
            tris = np.arange(len(verts)).reshape(-1, 3)
        else:
            corner_ids = tris.ravel()
            summed = np.stack(
                [np.bincount(corner_ids, weights=np.repeat(face_n[:, k], 3), minlength=len(verts)) for k in range(3)],
                axis=1,
            )
            normals = _unit(summed)
            tris = tris[in_front]
        parts_v.append(verts)
        parts_n.append(normals)
        parts_c.append(color)
        parts_f.append(tris + offset)
        parts_src.append(source)
        face_counts.append(len(tris))
        offset += len(verts)
    if not parts_v:
        empty3 = np.zeros((0, 3), np.float32)
        return RasterScene(
            empty3, empty3, empty3, np.zeros((0, 3), np.int32), np.zeros(0, np.int64), np.zeros(0, np.int64)
        )
    return RasterScene(
        verts_cam=np.concatenate(parts_v).astype(np.float32),
        normals_cam=np.concatenate(parts_n).astype(np.float32),
        colors=np.concatenate(parts_c).astype(np.float32),
        faces=np.concatenate(parts_f).astype(np.int32),
        mesh_face_counts=np.asarray(face_counts, np.int64),
        source_face=np.concatenate(parts_src).astype(np.int64),
    )
