"""Backend choice, and the two rasterizers drawing the same picture."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import trimesh
from render_scenes import K_640x480, sphere

from hmr.errors import HmrError
from hmr.render import available_backends, overlay, raster_egl, render_overlay
from hmr.render.overlay import BACKEND_ENV_VAR, resolve_backend


def crowd() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Three overlapping people-sized shapes with long thin and tiny triangles alike."""
    capsule = trimesh.creation.capsule(height=1.2, radius=0.22, count=[32, 48])
    capsule_v = np.asarray(capsule.vertices)[:, [0, 2, 1]]  # axis along y
    ball_v, ball_f = sphere([0.0, 0.0, 0.0], 0.3, subdivisions=4)
    meshes = [capsule_v + [0.0, 0.1, 3.0], ball_v + [0.35, -0.2, 3.6], capsule_v * 0.9 + [-0.4, 0.0, 4.2]]
    faces = [np.asarray(capsule.faces), ball_f, np.asarray(capsule.faces)]
    return meshes, faces


@pytest.mark.parametrize("shading", ["smooth", "flat"])
def test_egl_and_torch_draw_the_same_picture(egl, shading):
    meshes, faces = crowd()
    background = np.full((480, 640, 3), (20, 30, 40), np.uint8)
    out = {
        name: render_overlay(background, meshes, faces, K_640x480, alpha=1.0, shading=shading, backend=name)
        for name in ("egl", "torch")
    }
    masks = {name: (img != background).any(axis=2) for name, img in out.items()}
    union = masks["egl"] | masks["torch"]
    iou = (masks["egl"] & masks["torch"]).sum() / union.sum()
    assert union.sum() > 25_000 and iou > 0.995
    colour_diff = np.abs(out["egl"].astype(int) - out["torch"].astype(int)).sum(axis=2)
    assert colour_diff[union].mean() < 1.5
    # Differences stay on silhouettes and seams between faces: almost no pixel is far off.
    assert (colour_diff[union] > 30).mean() < 0.005


def test_explicit_backend_beats_the_environment(monkeypatch):
    monkeypatch.setenv(BACKEND_ENV_VAR, "egl")
    assert resolve_backend("torch") == "torch"
    monkeypatch.setenv(BACKEND_ENV_VAR, "torch")
    assert resolve_backend("auto") == "torch"
    monkeypatch.setenv(BACKEND_ENV_VAR, "Vulkan")
    with pytest.raises(HmrError, match=BACKEND_ENV_VAR):
        resolve_backend("auto")


def test_auto_uses_egl_when_it_starts(egl, monkeypatch):
    monkeypatch.delenv(BACKEND_ENV_VAR, raising=False)
    assert resolve_backend("auto") == "egl"
    assert available_backends() == ["egl", "torch"]
    # The context is made once per process and reused.
    renderer = raster_egl._state()["renderer"]
    render_overlay(
        np.zeros((8, 8, 3), np.uint8), [np.array([[0, 0, 1.0], [1, 0, 1], [0, 1, 1]])], [[0, 1, 2]], K_640x480
    )
    assert raster_egl._state()["renderer"] is renderer


def test_auto_falls_back_to_torch_with_one_log_line(monkeypatch, caplog):
    monkeypatch.delenv(BACKEND_ENV_VAR, raising=False)
    monkeypatch.setattr(raster_egl, "_STATE", {"error": "EGLError: no display"})
    monkeypatch.setattr(overlay, "_fallback_logged", False)
    verts, faces = sphere([0.0, 0.0, 3.0], 0.5)
    image = np.zeros((120, 160, 3), np.uint8)
    with caplog.at_level(logging.INFO, logger="hmr.render"):
        first = render_overlay(image, [verts], faces, K_640x480 / [[4], [4], [1]])
        second = render_overlay(image, [verts], faces, K_640x480 / [[4], [4], [1]])
    assert np.array_equal(first, render_overlay(image, [verts], faces, K_640x480 / [[4], [4], [1]], backend="torch"))
    assert np.array_equal(first, second) and (first != image).any()
    records = [r for r in caplog.records if r.name == "hmr.render.overlay"]
    assert len(records) == 1 and "no display" in records[0].getMessage() and "\n" not in records[0].getMessage()
    assert available_backends() == ["torch"]


def test_explicit_egl_without_egl_is_a_user_error(monkeypatch):
    monkeypatch.setattr(raster_egl, "_STATE", {"error": "ImportError: No module named 'moderngl'"})
    with pytest.raises(HmrError, match="backend='torch'"):
        render_overlay(
            np.zeros((8, 8, 3), np.uint8),
            [np.array([[0, 0, 1.0], [1, 0, 1], [0, 1, 1]])],
            [[0, 1, 2]],
            K_640x480,
            backend="egl",
        )


def test_egl_failure_is_detected_and_remembered(monkeypatch):
    """A machine where the context cannot be made (here: moderngl refuses) is tried once."""
    import moderngl

    calls = []

    def refuse(**kwargs):
        calls.append(kwargs)
        raise moderngl.Error("cannot create context")

    monkeypatch.setattr(raster_egl, "_STATE", {})
    monkeypatch.setattr(moderngl, "create_standalone_context", refuse)
    assert "cannot create context" in raster_egl.unavailable_reason()
    assert "cannot create context" in raster_egl.unavailable_reason()
    assert len(calls) == 1 and calls[0]["backend"] == "egl"


def _render_auto(args):
    import torch

    torch.set_num_threads(1)  # the parent's OpenMP pool does not survive fork (torch, not us)
    image, verts, faces, K = args
    return resolve_backend("auto"), render_overlay(image, [verts], faces, K)


def test_forked_child_of_an_egl_process_renders_with_torch(egl, monkeypatch):
    """Mesa's EGL hangs in a forked child once the parent has drawn: the child must fall back."""
    import multiprocessing

    monkeypatch.delenv(BACKEND_ENV_VAR, raising=False)
    verts, faces = sphere([0.0, 0.0, 3.0], 0.5)
    image = np.zeros((120, 160, 3), np.uint8)
    K = K_640x480 / [[4], [4], [1]]
    render_overlay(image, [verts], faces, K, backend="egl")  # the parent has a live context
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child_backend, child_image = pool.apply_async(_render_auto, [(image, verts, faces, K)]).get(timeout=60)
    assert child_backend == "torch"
    assert np.array_equal(child_image, render_overlay(image, [verts], faces, K, backend="torch"))


def test_layers_give_depth_face_and_mesh_of_each_pixel(backend):
    """A square plane 2 m away, tilted about x, half hidden by a nearer one: depth and faces computed by hand."""
    from hmr.render.overlay import rasterize_layers
    from hmr.render.scene import Lighting, build_scene

    def quad(x0, x1, y0, y1, z_of_y):
        v = np.array([[x0, y0, z_of_y(y0)], [x1, y0, z_of_y(y0)], [x1, y1, z_of_y(y1)], [x0, y1, z_of_y(y1)]])
        return v, np.array([[0, 1, 2], [0, 2, 3]])

    far_v, far_f = quad(-0.5, 0.5, -0.5, 0.5, lambda y: 2.0 + 0.5 * y)  # depth grows downwards
    near_v, near_f = quad(0.0, 0.6, -0.6, 0.6, lambda y: 1.5)
    colours = [
        np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]),
        np.array([0.5, 0.5, 0.5]),
    ]
    scene = build_scene([far_v, near_v], [far_f, near_f], colours, flat=False)
    unlit = Lighting((0.0, 0.0, -1.0), ambient=1.0, diffuse=0.0)
    layers = rasterize_layers(scene, K_640x480, 480, 640, unlit, backend=backend)
    mesh = scene.mesh_of_faces(layers.face)
    rows, cols = np.divmod(layers.pixels, 640)
    K = K_640x480
    # pixel -> ray; on the far plane z = 2 + 0.5 y with y = z (v - cy) / fy
    ray_y = (rows - K[1, 2]) / K[1, 1]
    ray_x = (cols - K[0, 2]) / K[0, 0]
    on_far = mesh == 0
    z_far = 2.0 / (1.0 - 0.5 * ray_y[on_far])
    assert on_far.sum() > 5000 and (mesh == 1).sum() > 5000
    assert np.abs(layers.depth_m[on_far] - z_far).max() < 2e-3
    assert np.abs(layers.depth_m[~on_far] - 1.5).max() < 1e-3
    # the nearer plane hides the far one wherever both cover a pixel (x >= 0 on the near plane)
    assert (ray_x[on_far] * layers.depth_m[on_far] < 0.005).all()
    # per-vertex colours are interpolated: the far quad's top-left corner is red, bottom-right blue
    top_left = on_far & (rows == rows[on_far].min() + 2) & (cols == cols[on_far].min() + 2)
    assert layers.rgb[top_left][0, 0] > 0.9 and layers.rgb[top_left][0, 2] < 0.1
    assert np.allclose(layers.rgb[mesh == 1], 0.5, atol=0.01)
