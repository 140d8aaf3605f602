"""render_overlay on both backends: projection, occlusion, shading, edge cases."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from render_scenes import K_640x480, backproject, covered, facing_shade, pixel_rect, sphere

from hmr.errors import HmrError
from hmr.render import person_colors, render_overlay
from hmr.render.scene import DEFAULT_LIGHTING

BACKGROUND = (7, 11, 13)


def blank(height: int = 480, width: int = 640) -> np.ndarray:
    return np.broadcast_to(np.array(BACKGROUND, np.uint8), (height, width, 3)).copy()


def test_vertex_lands_on_K_projection(backend):
    """A 0.8 px square centred on X is drawn exactly at pixel round(K @ X / Z): a half-pixel
    convention error or a transposed K would move or erase it."""
    K = K_640x480
    for X in ([0.32, -0.18, 2.3], [-0.9, 0.54, 3.7], [1.22, 0.79, 4.1]):
        u, v, w = K @ np.array(X)
        u, v = u / w, v / w
        assert abs(u - round(u)) < 0.3 and abs(v - round(v)) < 0.3  # the scene is unambiguous
        verts, faces = pixel_rect(K, u - 0.4, v - 0.4, u + 0.4, v + 0.4, z=X[2])
        assert np.allclose(verts.mean(axis=0), X)
        out = render_overlay(blank(), [verts], faces, K, alpha=1.0, backend=backend)
        assert np.argwhere(covered(out, blank())).tolist() == [[round(v), round(u)]]


def test_rectangle_covers_exactly_the_pixel_centres_inside(backend):
    verts, faces = pixel_rect(K_640x480, 100.3, 80.2, 150.7, 120.6, z=2.0)
    out = render_overlay(blank(), [verts], faces, K_640x480, alpha=1.0, backend=backend)
    expected = np.zeros((480, 640), bool)
    expected[81:121, 101:151] = True
    assert np.array_equal(covered(out, blank()), expected)
    assert np.abs(out[100, 120].astype(int) - facing_shade(person_colors([0])[0])).max() <= 1


def test_nearer_person_occludes_farther_whatever_the_order(backend):
    near, faces = pixel_rect(K_640x480, 100, 100, 300, 300, z=2.0)
    far, _ = pixel_rect(K_640x480, 200, 200, 400, 400, z=3.0)
    for order in ([near, far], [far, near]):
        ids = [0, 1] if order[0] is near else [1, 0]
        out = render_overlay(blank(), order, faces, K_640x480, alpha=1.0, ids=ids, backend=backend)
        near_color = facing_shade(person_colors([0])[0])
        far_color = facing_shade(person_colors([1])[0])
        assert np.abs(out[250, 250].astype(int) - near_color).max() <= 1  # overlap: the nearer one
        assert np.abs(out[350, 350].astype(int) - far_color).max() <= 1  # far one alone
        assert np.abs(out[150, 150].astype(int) - near_color).max() <= 1


def test_interpenetrating_people_resolve_per_pixel(backend):
    """Two tilted planes crossing each other: each wins where it is nearer (a depth buffer, not
    a per-person sort)."""
    K = K_640x480
    corners = ((100, 100), (400, 100), (400, 400), (100, 400))
    a = np.array([backproject(K, u, v, z) for (u, v), z in zip(corners, (2.0, 2.0, 4.0, 4.0), strict=True)])
    b = np.array([backproject(K, u, v, z) for (u, v), z in zip(corners, (4.0, 4.0, 2.0, 2.0), strict=True)])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    out = render_overlay(blank(), [a, b], faces, K, alpha=1.0, colors=[[1.0, 0, 0], [0, 0, 1.0]], backend=backend)
    assert out[150, 250, 0] > 0 and out[150, 250, 2] == 0  # upper half: a is nearer
    assert out[350, 250, 2] > 0 and out[350, 250, 0] == 0  # lower half: b is nearer


def test_facing_normal_gets_the_documented_lambert_shade(backend):
    """Sphere centre faces the camera: colour * (ambient + diffuse * max(0, n.l)); lit side brighter."""
    verts, faces = sphere([0.0, 0.0, 3.0], 0.5, subdivisions=4)
    color = np.array([0.8, 0.6, 0.4])
    out = render_overlay(blank(), [verts], faces, K_640x480, colors=[color], alpha=1.0, backend=backend)
    u, v = K_640x480[0, 2], K_640x480[1, 2]
    assert np.abs(out[round(v), round(u)].astype(int) - facing_shade(color)).max() <= 2
    # The light sits up-left (-x, -y): that side of the sphere is brighter than down-right.
    r_px = 0.5 / 3.0 * 520 * 0.6
    upper_left = out[round(v - r_px), round(u - r_px)].astype(int).sum()
    lower_right = out[round(v + r_px), round(u + r_px)].astype(int).sum()
    assert upper_left > lower_right + 60


def test_flat_shading_differs_from_smooth_and_both_cover_alike(backend):
    verts, faces = sphere([0.0, 0.0, 3.0], 0.5, subdivisions=1)
    smooth = render_overlay(blank(), [verts], faces, K_640x480, alpha=1.0, backend=backend)
    flat = render_overlay(blank(), [verts], faces, K_640x480, alpha=1.0, shading="flat", backend=backend)
    assert np.array_equal(covered(smooth, blank()), covered(flat, blank()))
    # Flat: one colour per face, so far fewer distinct colours than the smooth gradient.
    n_smooth, n_flat = (len(np.unique(img.astype(np.int64) @ [65536, 256, 1])) for img in (smooth, flat))
    assert n_flat <= 80 + 1 < n_smooth


def test_face_winding_does_not_change_the_picture(backend):
    verts, faces = sphere([0.2, 0.1, 3.0], 0.6)
    out = render_overlay(blank(), [verts], faces, K_640x480, backend=backend)
    flipped = render_overlay(blank(), [verts], faces[:, ::-1], K_640x480, backend=backend)
    assert np.abs(out.astype(int) - flipped.astype(int)).max() <= 1


def test_alpha_blends_with_the_image(backend):
    verts, faces = pixel_rect(K_640x480, 100, 100, 200, 200, z=2.0)
    image = blank()
    image[:] = (200, 100, 50)
    color = np.array([0.2, 0.4, 0.6])
    out = render_overlay(image, [verts], faces, K_640x480, colors=[color], alpha=0.25, backend=backend)
    expected = 0.75 * np.array([200, 100, 50]) + 0.25 * facing_shade(color)
    assert np.abs(out[150, 150] - expected).max() <= 1
    assert np.array_equal(out[10, 10], image[10, 10])


def test_empty_mesh_list_returns_the_image_unchanged(backend):
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    out = render_overlay(image, [], np.zeros((0, 3), int), K_640x480, backend=backend)
    assert np.array_equal(out, image) and out is not image


def test_meshes_behind_the_camera_are_not_drawn(backend):
    verts, faces = sphere([0.0, 0.0, -3.0], 0.5)
    out = render_overlay(blank(), [verts], faces, K_640x480, backend=backend)
    assert np.array_equal(out, blank())
    # A sphere around the camera: only its faces wholly in front are drawn (they cover the view),
    # a person beyond it is hidden, nothing crashes.
    around, faces = sphere([0.0, 0.0, 0.3], 1.0)
    beyond, _ = sphere([0.0, 0.0, 5.0], 0.5)
    out = render_overlay(blank(), [around, beyond], faces, K_640x480, alpha=1.0, backend=backend)
    assert covered(out, blank()).mean() > 0.9
    assert np.abs(out[252, 301].astype(int) - facing_shade(person_colors([0])[0])).max() <= 40


def test_nearly_touching_people_far_away_still_resolve(backend):
    """Depth precision: 1 cm apart at 25 m, the nearer person is still in front everywhere."""
    near, faces = pixel_rect(K_640x480, 100, 100, 300, 300, z=25.0)
    far, _ = pixel_rect(K_640x480, 150, 150, 350, 350, z=25.01)
    out = render_overlay(blank(), [far, near], faces, K_640x480, alpha=1.0, ids=[1, 0], backend=backend)
    assert np.abs(out[160:300, 160:300].astype(int) - facing_shade(person_colors([0])[0])).max() <= 1


def test_non_finite_vertices_drop_their_faces(backend):
    verts, faces = sphere([0.0, 0.0, 3.0], 0.5)
    verts[0] = np.nan
    out = render_overlay(blank(), [verts], faces, K_640x480, backend=backend)
    assert covered(out, blank()).sum() > 1000


@pytest.mark.parametrize("height, width", [(120, 400), (400, 120)])
def test_non_square_images(backend, height, width):
    K = np.array([[300.0, 0, width / 2 - 0.5], [0, 300.0, height / 2 - 0.5], [0, 0, 1]])
    verts, faces = pixel_rect(K, width - 30.5, height - 20.5, width + 50, height + 50, z=1.5)
    out = render_overlay(blank(height, width), [verts], faces, K, alpha=1.0, backend=backend)
    expected = np.zeros((height, width), bool)
    expected[height - 20 :, width - 30 :] = True  # clipped at the image border
    assert np.array_equal(covered(out, blank(height, width)), expected)


def test_large_image(backend):
    height, width = 2160, 3840
    K = np.array([[2000.0, 0, 1919.5], [0, 2000.0, 1079.5], [0, 0, 1]])
    verts, faces = sphere([0.0, 0.0, 2.0], 0.2)
    out = render_overlay(blank(height, width), [verts], faces, K, alpha=1.0, backend=backend)
    mask = covered(out, blank(height, width))
    # Silhouette of a sphere: a disc of radius f r / sqrt(z^2 - r^2) px.
    radius_px = 2000 * 0.2 / np.sqrt(2.0**2 - 0.2**2)
    assert abs(mask.sum() - np.pi * radius_px**2) / (np.pi * radius_px**2) < 0.02
    assert mask[1080, 1920] and not mask[1080, 1920 + int(radius_px) + 5]


def test_ids_pick_palette_colours_and_colors_override(backend):
    verts, faces = pixel_rect(K_640x480, 100, 100, 200, 200, z=2.0)
    out = render_overlay(blank(), [verts], faces, K_640x480, alpha=1.0, ids=[7], backend=backend)
    assert np.abs(out[150, 150].astype(int) - facing_shade(person_colors([7])[0])).max() <= 1
    out = render_overlay(
        blank(), [verts], faces, K_640x480, alpha=1.0, colors=np.array([[255, 0, 0]], np.uint8), backend=backend
    )
    assert np.abs(out[150, 150].astype(int) - facing_shade([1.0, 0, 0])).max() <= 1


def test_per_person_faces_and_torch_inputs(backend):
    sphere_v, sphere_f = sphere([-0.5, 0.0, 3.0], 0.3)
    rect_v, rect_f = pixel_rect(K_640x480, 400, 100, 500, 200, z=2.0)
    out = render_overlay(
        torch.from_numpy(blank()).numpy(),
        [torch.tensor(sphere_v), torch.tensor(rect_v)],
        [sphere_f, torch.tensor(rect_f)],
        torch.tensor(K_640x480),
        alpha=1.0,
        backend=backend,
    )
    mask = covered(out, blank())
    assert mask[150, 450] and mask[252, round(301.5 - 0.5 / 3 * 520)]


def test_supersampling_softens_edges_only(backend):
    verts, faces = pixel_rect(K_640x480, 100.6, 100.6, 200.1, 200.4, z=2.0)
    hard = render_overlay(blank(), [verts], faces, K_640x480, alpha=1.0, backend=backend)
    soft = render_overlay(blank(), [verts], faces, K_640x480, alpha=1.0, supersample=2, backend=backend)
    assert np.abs(soft[150, 150].astype(int) - hard[150, 150]).max() <= 1
    # Right edge at u = 200.1: one of the two sample columns of pixel 200 (200.25) is outside.
    edge = soft[150, 200].astype(int)
    full = hard[150, 150].astype(int)
    assert np.all(np.minimum(BACKGROUND, full) <= edge) and np.any(edge != BACKGROUND) and np.any(edge != full)


def test_renders_from_other_threads(backend):
    verts, faces = sphere([0.0, 0.0, 3.0], 0.5)
    results = []
    thread = threading.Thread(
        target=lambda: results.append(render_overlay(blank(), [verts], faces, K_640x480, backend=backend))
    )
    thread.start()
    thread.join()
    assert np.array_equal(results[0], render_overlay(blank(), [verts], faces, K_640x480, backend=backend))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(image=np.zeros((4, 4, 3), np.float32)), "uint8"),
        (dict(image=np.zeros((4, 4), np.uint8)), "uint8"),
        (dict(K=np.eye(2)), "pinhole"),
        (dict(faces=np.array([[0, 1, 99]])), "index vertex"),
        (dict(colors=[[1.0, 0.0]]), "colors"),
        (dict(colors=[[2.0, 0.0, 0.0]]), "[0, 1]"),
        (dict(ids=[0, 1]), "ids"),
        (dict(alpha=1.5), "alpha"),
        (dict(backend="vulkan"), "backend"),
        (dict(shading="toon"), "shading"),
        (dict(supersample=0), "supersample"),
    ],
)
def test_bad_inputs_raise_hmr_error(kwargs, message):
    args = dict(
        image=blank(8, 8),
        meshes=[np.array([[0, 0, 1.0], [1, 0, 1], [0, 1, 1]])],
        faces=np.array([[0, 1, 2]]),
        K=K_640x480,
        backend="torch",
    )
    args.update(kwargs)
    with pytest.raises(HmrError, match=None) as info:
        render_overlay(**args)
    assert message in str(info.value)


def test_light_direction_is_a_unit_vector_above_left_and_behind_the_camera():
    assert abs(np.linalg.norm(np.asarray(DEFAULT_LIGHTING.to_light_cam)) - 1) < 1e-6
    assert (
        np.asarray(DEFAULT_LIGHTING.to_light_cam)[0] < 0
        and np.asarray(DEFAULT_LIGHTING.to_light_cam)[1] < 0
        and np.asarray(DEFAULT_LIGHTING.to_light_cam)[2] < 0
    )
    assert 0 < DEFAULT_LIGHTING.ambient and DEFAULT_LIGHTING.ambient + DEFAULT_LIGHTING.diffuse <= 1.0
