"""Generated images: labels that match the pixels and the body model exactly, and determinism."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from hmr.body.anny_body import ANNY_PHENOTYPES, AnnyBody
from hmr.camera import project
from hmr.data.keypoint_formats import COCO133, COCO133_BODY
from hmr.synth.generate import Generator, SynthConfig
from hmr.synth.labels import build_layout, keypoint_visibility
from hmr.synth.parts import PARTS

CONFIG = SynthConfig(width=320, height=240, people=(2, 4))


@pytest.fixture(scope="module")
def body():
    return AnnyBody()


@pytest.fixture(scope="module")
def generator(body):
    return Generator(CONFIG, seed=11, save_verts=True, save_masks=True, body=body)


@pytest.fixture(scope="module")
def images(generator):
    return [generator.image(i) for i in range(4)]


def _anny_params(person) -> tuple[dict[str, torch.Tensor], np.ndarray]:
    params = {k: torch.from_numpy(v)[None] for k, v in person.params.items() if k != "transl"}
    for group, size in (("body_pose", 35), ("left_hand_pose", 19), ("right_hand_pose", 19), ("eye_pose", 2)):
        params[group] = params[group].reshape(1, size, 3)
    return params, person.params["transl"].astype(np.float64)


def test_reposing_the_stored_parameters_reproduces_vertices_and_keypoints(body, images):
    persons = [(p, im.K) for im in images for p in im.persons]
    assert len(persons) >= 6
    coco = [COCO133.index(name) for name in COCO133_BODY]
    anny_coco = [body.joint_names.index(f"coco_{name}") for name in COCO133_BODY]
    for person, K in persons:
        params, transl = _anny_params(person)
        assert set(ANNY_PHENOTYPES) <= set(params)
        with torch.no_grad():
            out = body(**params)
        verts = out.vertices[0].double().numpy() + transl
        joints = out.joints[0].double().numpy() + transl
        assert np.abs(verts - person.verts_cam).max() < 1e-3  # metres: within 1 mm
        assert np.abs(joints[anny_coco] - person.kp3d[coco, :3]).max() < 1e-3
        labelled = person.kp3d[:, 3] > 0
        uv = project(person.kp3d[labelled, :3].astype(np.float64), K.astype(np.float64))
        assert np.abs(uv - person.kp2d[labelled, :2]).max() < 1e-2  # pixels
        assert person.kp2d_format == "coco133" and person.kp3d_frame == "cam"


def test_face_slots_are_unlabelled_and_hands_are(images):
    person = images[0].persons[0]
    face = slice(23, 91)
    assert (person.kp2d[face, 2] == 0).all() and (person.kp3d[face, 3] == 0).all()
    assert (person.kp3d[91:, 3] == 1).all() and (person.kp3d[:23, 3] == 1).all()


def test_visible_keypoints_lie_on_their_person_and_boxes_hold_the_mask(images):
    checked = 0
    for im in images:
        instance = np.asarray(Image.open(io.BytesIO(im.instance_png))).astype(int) - 1
        h, w = instance.shape
        for index, person in enumerate(im.persons):
            mask = instance == index
            visible = person.kp2d[:, 2] == 2
            cols = np.rint(person.kp2d[visible, 0]).astype(int)
            rows = np.rint(person.kp2d[visible, 1]).astype(int)
            assert mask[rows, cols].all()
            checked += int(visible.sum())
            if mask.any():
                x0, y0, x1, y1 = person.bbox_visible_xyxy
                rows_m, cols_m = np.nonzero(mask)
                assert (x0, y0, x1, y1) == (cols_m.min(), rows_m.min(), cols_m.max() + 1, rows_m.max() + 1)
                # the amodal box holds the visible one
                ax0, ay0, ax1, ay1 = person.bbox_xyxy
                assert ax0 <= x0 + 1 and ay0 <= y0 + 1 and ax1 >= x1 - 1 and ay1 >= y1 - 1
            assert 0.0 <= person.visible_fraction <= 1.0
            if person.visible_fraction > 0.99:
                # a fully visible person's mask has the area of its silhouette: all inside the image
                assert mask.sum() > 50
    assert checked > 50


def test_visibility_rules_on_layers_built_by_hand(body):
    """A 3x3 image: keypoint pixels show this person's arm, another person, this person's torso, nothing."""
    from hmr.fit.anny_keypoints import AnnyKeypointModel

    layout = build_layout(AnnyKeypointModel(body).keypoint_names)
    K = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1]])
    elbow = COCO133.index("left_elbow")
    nose = COCO133.index("nose")
    keypoints = np.zeros((133, 3))
    keypoints[:, 2] = -1.0  # everything else behind the camera: not visible
    keypoints[elbow] = [0.0, 0.0, 2.0]  # pixel (0, 0)
    keypoints[nose] = [2.0, 0.0, 1.0]  # pixel (2, 0)
    instance = np.zeros((3, 3), int)
    part = np.full((3, 3), PARTS.index("upperarm_l"))
    depth = np.full((3, 3), 1.9)
    part[0, 2] = PARTS.index("head")
    depth[0, 2] = 0.99  # skin 1 cm in front of the nose
    _, visible = keypoint_visibility(layout, keypoints, 0, K, 3, 3, instance, part, depth)
    assert visible[elbow] and visible[nose] and visible.sum() == 2
    # another person in front of the elbow
    _, visible = keypoint_visibility(layout, keypoints, 0, K, 3, 3, np.where(part == part[0, 0], 1, 0), part, depth)
    assert not visible[elbow]
    # this person's torso in front of the elbow (the arm behind the back)
    torso = part.copy()
    torso[0, 0] = PARTS.index("torso")
    _, visible = keypoint_visibility(layout, keypoints, 0, K, 3, 3, instance, torso, depth)
    assert not visible[elbow] and visible[nose]
    # the back of the head 20 cm in front of the nose: a nose seen from behind is hidden
    far = depth.copy()
    far[0, 2] = 0.8
    _, visible = keypoint_visibility(layout, keypoints, 0, K, 3, 3, instance, part, far)
    assert not visible[nose]


def test_same_seed_same_labels_bit_for_bit_and_other_seed_differs(body, images):
    again = Generator(CONFIG, seed=11, save_verts=True, body=body).image(2)
    first = images[2]
    assert again.jpeg == first.jpeg
    assert len(again.persons) == len(first.persons)
    for a, b in zip(again.persons, first.persons, strict=True):
        assert a.params.keys() == b.params.keys()
        for k in a.params:
            assert np.array_equal(a.params[k], b.params[k])
        assert np.array_equal(a.kp2d, b.kp2d) and np.array_equal(a.verts_cam, b.verts_cam)
    other = Generator(CONFIG, seed=12, body=body).image(2)
    assert other.jpeg != first.jpeg


def test_images_vary_in_people_cameras_and_roles(generator):
    metas = [generator.image(i).meta for i in range(4, 12)]
    fovs = [m["fov_deg"] for m in metas]
    counts = [len(m["roles"]) for m in metas]
    assert max(fovs) - min(fovs) > 15 and all(30 <= f <= 100 for f in fovs)
    assert len(set(counts)) >= 2 and all(1 <= c <= 4 for c in counts)
    assert len({name for m in metas for name in m["poses"]}) >= 8
