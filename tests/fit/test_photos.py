"""Acceptance on the photos shipped in examples/: everyone found, bodies on their keypoints."""

import numpy as np
import pytest

from hmr.camera import intrinsics_from_fov

from .conftest import PHOTO_PEOPLE

pytestmark = pytest.mark.slow  # BlazePose and fits on real photos


@pytest.mark.parametrize("name", list(PHOTO_PEOPLE))
def test_every_visible_person_is_found(photo_results, name):
    _, _, result, people = photo_results[name]
    assert len(people) == PHOTO_PEOPLE[name]
    assert len(result) == len(people) and result.message == ""


@pytest.mark.parametrize("name", list(PHOTO_PEOPLE))
def test_fitted_keypoints_land_on_the_detected_ones(pipeline, photo_results, name):
    _, _, result, people = photo_results[name]
    errors = pipeline.reprojection_errors(result, people)
    print(name, "reprojection error, % of box height:", np.round(100 * errors, 2))
    assert (errors <= 0.02).all()


def test_people_in_one_photo_are_distinct_and_in_front_of_the_camera(photo_results):
    _, K, result, people = photo_results["lab_three_people.jpg"]
    heads = np.stack([p.loc for p in result.persons])
    assert np.linalg.norm(heads[:, None] - heads[None], axis=-1)[np.triu_indices(3, 1)].min() > 50
    for person in result.persons:
        assert 1.0 < person.transl_pelvis[2] < 15.0
        assert np.isfinite(person.vertices).all()
    # the one at the back of the room is the farthest
    far = int(np.argmin([np.ptp(p.keypoints_px[:, 1]) for p in people]))
    assert np.argmax([p.transl_pelvis[2] for p in result.persons]) == far


def test_hands_are_detected_when_visible(photo_results):
    people = [p for _, _, _, found in photo_results.values() for p in found]
    hands = [h for p in people for h in (p.left_hand_px, p.right_hand_px) if h is not None]
    assert hands, "no hand found on any shipped photo"
    for hand in hands:
        assert hand.shape == (21, 2) and np.isfinite(hand).all()


def test_face_mesh_when_asked(photo_results):
    from hmr.fit.keypoints import KeypointDetector

    image, _, _, people = photo_results["astronaut.jpg"]
    found = KeypointDetector(hands=False, face=True).detect(image)
    assert len(found) == 1 and found[0].face_px.shape == (468, 2)
    nose = people[0].keypoints_px[0]
    ears = np.linalg.norm(people[0].keypoints_px[7] - people[0].keypoints_px[8])
    # the mesh sits on the face: its centre near the nose, its size about the ear-to-ear distance
    assert np.linalg.norm(found[0].face_px.mean(0) - nose) < 0.5 * ears
    assert 0.5 * ears < np.ptp(found[0].face_px[:, 0]) < 2.0 * ears


def test_a_person_whose_head_the_border_cuts_off_is_found_and_fitted(pipeline, photo_results):
    """The man walking in lab_three_people.jpg, cut just below the shoulders: no face for the detector,
    so only the border search finds him; his hips, knees, ankles and shoulders land on the uncropped ones."""
    from hmr.fit.keypoints import KeypointDetector

    image, _, _, people = photo_results["lab_three_people.jpg"]
    walker = max(people, key=lambda p: p.box_px()[2] - p.box_px()[0])  # the widest: arms out, walking
    shoulders_y = walker.keypoints_px[[11, 12], 1].max()
    top = int(shoulders_y + 10)  # head and shoulders outside
    crop = np.ascontiguousarray(image[top:])
    lower = [23, 24, 25, 26, 27, 28]  # hips, knees, ankles
    truth = walker.keypoints_px[lower] - [0, top]
    size = np.ptp(walker.keypoints_px[:, 1])

    def on_walker(found):
        return [p for p in found if np.median(np.linalg.norm(p.keypoints_px[lower] - truth, axis=1)) < 0.1 * size]

    assert not on_walker(KeypointDetector(border_search=False).detect(crop))  # what the border search adds
    K = intrinsics_from_fov(crop.shape[1], crop.shape[0], 60.0)
    result, found = pipeline.predict_with_keypoints(crop, K)
    match = on_walker(found)
    assert len(match) == 1
    # the shoulders sit where they are, at the edge, not squeezed down onto the chest
    true_shoulders = walker.keypoints_px[[11, 12]] - [0, top]
    assert np.linalg.norm(match[0].keypoints_px[[11, 12]] - true_shoulders, axis=1).max() < 0.1 * size
    person = result.persons[found.index(match[0])]
    assert np.isfinite(person.vertices).all() and np.isfinite(person.transl).all()
    assert 1.0 < person.transl_pelvis[2] < 15.0
