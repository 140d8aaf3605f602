"""The 3D scene as files: a ``.glb`` (meshes + camera) for glTF viewers, ``.obj`` per person.

glTF is right-handed with +y up and the camera looking down -z; our camera frame is OpenCV's
(x right, y down, z forward). ``.glb`` vertices are therefore ``(x, -y, -z)``: a half turn about
the x axis, a rotation rather than a mirror, so face winding and outward normals are kept. The
camera node sits at the origin with the identity transform, so a viewer that switches to it sees
the people where they stand in the image.

A glTF perspective camera only holds a vertical field of view and an aspect ratio: the
principal point and skew of K cannot be expressed, so the full K and the image size are kept in
the camera's ``extras``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from hmr.atomic import atomic_path
from hmr.camera import check_intrinsics
from hmr.errors import HmrError
from hmr.render.palette import person_colors
from hmr.render.scene import check_colors, check_meshes, to_numpy

# OpenCV camera frame -> glTF frame (and back: the map is its own inverse).
OPENCV_TO_GLTF = np.array([1.0, -1.0, -1.0])
CAMERA_NAME = "camera"


def _camera_fixer(K: np.ndarray, width: int, height: int):
    """A glTF tree post-processor writing the camera from K.

    trimesh writes ``aspectRatio`` as the ratio of the two field-of-view angles; glTF defines it
    as width / height, so both fields are set here directly.
    """

    def fix(tree: dict) -> None:
        camera = tree["cameras"][0]
        camera["perspective"]["yfov"] = 2.0 * math.atan(height / (2.0 * K[1, 1]))
        camera["perspective"]["aspectRatio"] = (width * K[1, 1]) / (height * K[0, 0])
        camera["extras"] = {"K_opencv": K.tolist(), "image_size": [width, height]}

    return fix


def write_glb(
    path: str | os.PathLike,
    meshes: Sequence[Any],
    faces: Any,
    K: Any,
    image_size: Sequence[int],
    colors: Any = None,
    names: Sequence[str] | None = None,
    ids: Sequence[int] | None = None,
) -> Path:
    """Write people and their camera as a binary glTF that any glTF viewer opens.

    Args:
        meshes: per person, vertices ``(V, 3)`` in the OpenCV camera frame, metres.
        faces: ``(F, 3)`` shared by every mesh, or one ``(F_i, 3)`` array per mesh.
        K: ``(3, 3)`` intrinsics; with ``image_size`` ``(W, H)`` they give the camera's vertical
            field of view and aspect ratio (square pixels: ``W fy / (H fx)``).
        colors: ``(P, 3)`` RGB (float in [0, 1] or uint8); default: the palette colour of ``ids``.
        names: node name per person; default ``person_<i>``.
        ids: palette index per person, as in :func:`hmr.render.render_overlay`.
    """
    import trimesh

    verts_list, faces_list = check_meshes(meshes, faces)
    K = check_intrinsics(to_numpy(K, np.float64))
    width, height = (int(x) for x in image_size)
    n_people = len(verts_list)
    if colors is None:
        colors = person_colors(range(n_people) if ids is None else ids)
    colors = check_colors(colors, n_people)
    names = [f"person_{i}" for i in range(n_people)] if names is None else [str(n) for n in names]
    if len(names) != n_people or len(set(names)) != n_people or CAMERA_NAME in names:
        raise HmrError(f"names must be {n_people} distinct strings other than {CAMERA_NAME!r}, got {names}")

    scene = trimesh.Scene()
    for name, verts, tris, color in zip(names, verts_list, faces_list, colors, strict=True):
        if not np.isfinite(verts).all():
            raise HmrError(f"mesh {name} has non-finite vertices; drop that person before writing the .glb")
        material = trimesh.visual.material.PBRMaterial(
            name=name, baseColorFactor=[*color.tolist(), 1.0], metallicFactor=0.0, roughnessFactor=0.7, doubleSided=True
        )
        mesh = trimesh.Trimesh(
            vertices=verts * OPENCV_TO_GLTF,
            faces=tris,
            process=False,
            visual=trimesh.visual.TextureVisuals(material=material),
        )
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    scene.camera = trimesh.scene.Camera(
        name=CAMERA_NAME, resolution=(width, height), focal=(K[0, 0], K[1, 1]), z_near=0.01
    )
    scene.camera_transform = np.eye(4)

    # export_glb rather than scene.export: the latter refuses a scene without people.
    data = trimesh.exchange.gltf.export_glb(scene, tree_postprocessor=_camera_fixer(K, width, height))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_obj(path: str | os.PathLike, vertices: Any, faces: Any) -> Path:
    """Write one mesh as Wavefront OBJ, vertices exactly as given (no axis change).

    OBJ has no axis convention; camera-frame vertices (y down) appear upside down in viewers that
    assume +y up, and import the right way round with Blender's "Y forward, -Y up" option.
    """
    import trimesh

    (verts,), (tris,) = check_meshes([vertices], faces)
    if not np.isfinite(verts).all():
        raise HmrError("the mesh has non-finite vertices; nothing was written")
    mesh = trimesh.Trimesh(vertices=verts, faces=tris, process=False)
    # Trimesh.export returns str, bytes or dict by format; OBJ is text
    text = cast(str, mesh.export(file_type="obj", include_normals=False, include_color=False, include_texture=False))
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
