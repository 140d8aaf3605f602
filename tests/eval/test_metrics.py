"""Metrics and matching against answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hmr.eval.matching import DetectionCounts, box_iou, match_people
from hmr.eval.metrics import mpjpe_mm, pa_mpjpe_mm, reprojection_px, root_depth_error, similarity_align

TETRA = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_mpjpe_aligns_at_the_root_and_doubling_the_skeleton_costs_what_the_arithmetic_says():
    moved = TETRA + [5.0, -2.0, 3.0]
    assert mpjpe_mm(moved, TETRA, moved[0], TETRA[0]) == pytest.approx(0.0)
    doubled = 2 * TETRA  # root at the origin: joints 1-3 are 1 m further out each, joint 0 exact
    assert mpjpe_mm(doubled, TETRA, doubled[0], TETRA[0]) == pytest.approx(750.0)


def test_procrustes_removes_rotation_translation_and_scale_but_not_shape():
    R = Rotation.from_rotvec([0.3, -1.1, 0.7]).as_matrix()
    moved = 1.7 * TETRA @ R.T + [0.4, 2.0, -1.0]
    assert pa_mpjpe_mm(moved, TETRA) == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(similarity_align(moved, TETRA), TETRA)
    # a mirror image is not a rotation: the reflection is removed, an error remains
    assert pa_mpjpe_mm(TETRA * [-1, 1, 1], TETRA) > 100.0


def test_root_depth_and_reprojection():
    assert root_depth_error(np.array([0, 0, 4.2]), np.array([0, 0, 4.0])) == pytest.approx((200.0, 0.05))
    assert reprojection_px(np.array([[0.0, 0], [3, 4]]), np.array([[0.0, 0], [0, 0]])) == pytest.approx(2.5)


def test_box_iou_by_hand():
    assert box_iou(np.array([0, 0, 10, 10.0]), np.array([5, 0, 15, 10.0])) == pytest.approx(50 / 150)
    assert box_iou(np.array([0, 0, 1, 1.0]), np.array([2, 2, 3, 3.0])) == 0.0


def _line(start, end, n=9):
    return np.linspace(start, end, n)


def test_matching_follows_the_joints_not_the_centres():
    diagonal = _line([0, 0], [100, 100])  # person A
    anti_diagonal = _line([0, 100], [100, 0])  # person B: the same box and centre, other limbs
    people = np.stack([diagonal, anti_diagonal])
    # the one prediction has B's joints: it must go to B, even though A is listed first
    assert match_people(anti_diagonal[None] + 1.0, people) == [(0, 1)]
    # two predictions in swapped order find their people
    assert sorted(match_people(np.stack([anti_diagonal, diagonal]), people)) == [(0, 1), (1, 0)]


def test_a_far_away_detection_is_not_matched_and_lowers_precision_exactly():
    people = np.stack([_line([0, 0], [50, 100]), _line([200, 0], [250, 100])])
    far = _line([1000, 1000], [1050, 1100])
    predictions = np.stack([people[0], people[1], far])
    matched = match_people(predictions, people)
    assert sorted(matched) == [(0, 0), (1, 1)]
    counts = DetectionCounts()
    counts.add(len(predictions), len(people), len(matched))
    assert counts.precision == pytest.approx(2 / 3) and counts.recall == 1.0
    assert counts.f1 == pytest.approx(2 * (2 / 3) / (2 / 3 + 1))
    # no box overlap, no match, however the errors rank
    assert match_people(far[None], people[:1]) == []


def test_dropping_k_of_n_people_gives_recall_n_minus_k_over_n():
    people = np.stack([_line([x, 0], [x + 40, 100]) for x in (0, 100, 200, 300, 400)])
    matched = match_people(people[[0, 2, 4]], people)
    counts = DetectionCounts()
    counts.add(3, 5, len(matched))
    assert counts.recall == pytest.approx(3 / 5) and counts.precision == 1.0
