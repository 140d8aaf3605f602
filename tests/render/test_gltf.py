"""write_glb / write_obj: what a glTF or OBJ reader gets back."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import trimesh
from render_scenes import K_640x480, sphere

from hmr.errors import HmrError
from hmr.render import person_colors, write_glb, write_obj
from hmr.render.gltf import OPENCV_TO_GLTF


def glb_json(path) -> dict:
    """The JSON chunk of a .glb (12-byte header, then chunk length, chunk type, chunk data)."""
    data = path.read_bytes()
    magic, version, _ = struct.unpack("<4sII", data[:12])
    length, kind = struct.unpack("<I4s", data[12:20])
    assert magic == b"glTF" and version == 2 and kind == b"JSON"
    return json.loads(data[20 : 20 + length])


@pytest.fixture
def people():
    ball_v, ball_f = sphere([0.3, -0.2, 3.0], 0.4, subdivisions=2)
    box = trimesh.creation.box(extents=[0.5, 1.7, 0.3])
    box_v = np.asarray(box.vertices) + [-0.6, 0.1, 4.5]
    return [ball_v, box_v], [ball_f, np.asarray(box.faces)]


def test_glb_round_trip_meshes_faces_and_camera(tmp_path, people):
    verts, faces = people
    path = write_glb(tmp_path / "scene.glb", verts, faces, K_640x480, (640, 480))
    scene = trimesh.load(path, process=False)
    assert isinstance(scene, trimesh.Scene)
    assert sorted(scene.graph.nodes_geometry) == ["person_0", "person_1"]
    for i, (v, f) in enumerate(zip(verts, faces, strict=True)):
        transform, geometry_name = scene.graph[f"person_{i}"]
        mesh = scene.geometry[geometry_name]
        world = trimesh.transform_points(mesh.vertices, transform)
        np.testing.assert_allclose(world * OPENCV_TO_GLTF, v, atol=1e-5)  # undo the axis flip
        assert np.array_equal(mesh.faces, f)
    assert scene.has_camera
    camera_transform, _ = scene.graph[scene.camera.name]
    np.testing.assert_allclose(camera_transform, np.eye(4))


def test_glb_camera_matches_K(tmp_path, people):
    verts, faces = people
    path = write_glb(tmp_path / "scene.glb", verts, faces, K_640x480, (640, 480))
    tree = glb_json(path)
    (camera,) = tree["cameras"]
    assert camera["type"] == "perspective"
    assert math.isclose(camera["perspective"]["yfov"], 2 * math.atan(480 / (2 * K_640x480[1, 1])), rel_tol=1e-9)
    assert math.isclose(camera["perspective"]["aspectRatio"], 640 * 540 / (480 * 520), rel_tol=1e-9)
    assert camera["extras"]["image_size"] == [640, 480]
    np.testing.assert_allclose(camera["extras"]["K_opencv"], K_640x480)
    camera_nodes = [node for node in tree["nodes"] if "camera" in node]
    assert len(camera_nodes) == 1 and "matrix" not in camera_nodes[0] and "translation" not in camera_nodes[0]


def test_glb_axis_convention_puts_people_in_front_of_the_camera_and_upright(tmp_path):
    """glTF cameras look down -z with +y up: a person below the image centre (OpenCV +y) must
    end up at negative glTF y, and everyone at negative glTF z."""
    head = np.array([[0.0, -0.8, 3.0], [0.1, -0.8, 3.0], [0.0, -0.7, 3.0]])
    feet = head + [0.0, 1.6, 0.0]
    path = write_glb(tmp_path / "s.glb", [head, feet], [[0, 1, 2]], K_640x480, (640, 480), names=["head", "feet"])
    scene = trimesh.load(path, process=False)
    assert scene.geometry["head"].vertices[:, 1].min() > 0 > scene.geometry["feet"].vertices[:, 1].max()
    assert all((g.vertices[:, 2] < 0).all() for g in scene.geometry.values())
    # A half turn about x is a rotation: the winding, hence the outward normal, is preserved.
    normal_cv = np.cross(head[1] - head[0], head[2] - head[0])
    normal_gl = scene.geometry["head"].face_normals[0]
    np.testing.assert_allclose(normal_gl, normal_cv / np.linalg.norm(normal_cv) * OPENCV_TO_GLTF, atol=1e-6)


def test_glb_names_and_colours(tmp_path, people):
    verts, faces = people
    path = write_glb(tmp_path / "s.glb", verts, faces, K_640x480, (640, 480), names=["alice", "bob"], ids=[4, 2])
    tree = glb_json(path)
    assert [n["name"] for n in tree["nodes"] if "mesh" in n] == ["alice", "bob"]
    base = [m["pbrMetallicRoughness"]["baseColorFactor"][:3] for m in tree["materials"]]
    np.testing.assert_allclose(base, person_colors([4, 2]), atol=1 / 255)


def test_glb_with_no_people_still_holds_the_camera(tmp_path):
    path = write_glb(tmp_path / "empty.glb", [], np.zeros((0, 3), int), K_640x480, (640, 480))
    tree = glb_json(path)
    assert len(tree["cameras"]) == 1 and not tree.get("meshes")
    assert trimesh.load(path).has_camera


def test_glb_is_written_atomically(tmp_path, people, monkeypatch):
    verts, faces = people
    target = tmp_path / "scene.glb"
    target.write_bytes(b"previous")
    with pytest.raises(HmrError):
        bad = [verts[0], np.full_like(verts[1], np.nan)]
        write_glb(target, bad, faces, K_640x480, (640, 480))
    assert target.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["scene.glb"]


@pytest.mark.parametrize("kwargs", [dict(names=["a", "a"]), dict(names=["camera", "b"]), dict(colors=[[1, 0, 0]])])
def test_glb_rejects_bad_arguments(tmp_path, people, kwargs):
    verts, faces = people
    with pytest.raises(HmrError):
        write_glb(tmp_path / "s.glb", verts, faces, K_640x480, (640, 480), **kwargs)


def test_obj_round_trip(tmp_path):
    verts, faces = sphere([0.1, 0.2, 3.0], 0.5, subdivisions=2)
    path = write_obj(tmp_path / "person_0.obj", verts, faces)
    mesh = trimesh.load(path, process=False)
    np.testing.assert_allclose(mesh.vertices, verts, atol=1e-7)  # exactly as given, no axis change
    assert np.array_equal(mesh.faces, faces)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["person_0.obj"]
