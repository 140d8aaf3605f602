"""Detector output rearranged for the fitter: per person, in the body model's keypoint order.

BlazePose's metric landmarks live in the frame of the crop they were predicted on, which looks
along the ray through the person rather than along the optical axis; they are turned onto that
ray here so that the 3D term compares like with like for people off the image centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hmr.fit.keypoints import PersonKeypoints
from hmr.fit.mapping import KeypointMapping


@dataclass
class FitObservations:
    """Batched observations of B people for M paired keypoints and H paired hand landmarks."""

    keypoints_px: torch.Tensor  # (B, M, 2)
    confidence: torch.Tensor  # (B, M)
    world_m: torch.Tensor  # (B, M, 3) camera axes, origin between the hips, detector's body size
    world_confidence: torch.Tensor  # (B, M)
    scale_px: torch.Tensor  # (B,) person size in pixels: residuals are measured against it
    hands_px: torch.Tensor  # (B, 2, H, 2) left, right
    hands_valid: torch.Tensor  # (B, 2) 1 where that hand was seen
    hands_scale_px: torch.Tensor  # (B, 2) palm length (wrist -> middle knuckle), the hands' residual scale

    @property
    def batch_size(self) -> int:
        return int(self.keypoints_px.shape[0])


def ray_rotation(point_px: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(3, 3) rotation taking the optical axis onto the camera ray through ``point_px``, with
    the least twist (so image up stays up)."""
    ray = np.linalg.solve(K, np.array([point_px[0], point_px[1], 1.0]))
    ray /= np.linalg.norm(ray)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(z, ray)
    sin, cos = np.linalg.norm(axis), float(ray @ z)
    if sin < 1e-9:
        return np.eye(3)
    axis /= sin
    skew = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + sin * skew + (1 - cos) * skew @ skew


def person_scale_px(person: PersonKeypoints) -> float:
    """Size a residual is measured against: the taller side of the confident keypoints' box, at
    least twice the torso (so truncated people are not judged on a sliver)."""
    box = person.box_px()
    return float(max(box[2] - box[0], box[3] - box[1], 2.0 * person.torso_px, 1.0))


def build_observations(people: list[PersonKeypoints], mapping: KeypointMapping, K: np.ndarray) -> FitObservations:
    """Stack ``people`` into :class:`FitObservations` (float32)."""
    kp, conf, world, wconf, scale, hands, valid, palms = [], [], [], [], [], [], [], []
    n_hand = len(mapping.hand_src)
    for person in people:
        kp.append(person.keypoints_px[mapping.body_src])
        conf.append(person.confidence[mapping.body_src] * mapping.body_weight)
        hips = person.keypoints_px[[23, 24]].mean(0)
        world.append(person.world_m[mapping.body_src] @ ray_rotation(hips, K).T)
        # metric landmarks are estimated for occluded points too; trust them less
        wconf.append(0.3 + 0.7 * person.confidence[mapping.body_src])
        scale.append(person_scale_px(person))
        side_px, side_ok, side_palm = np.zeros((2, n_hand, 2)), np.zeros(2), np.ones(2)
        for i, hand in enumerate((person.left_hand_px, person.right_hand_px)):
            if hand is not None and n_hand:
                side_px[i], side_ok[i] = hand[mapping.hand_src], 1.0
                side_palm[i] = max(float(np.linalg.norm(hand[9] - hand[0])), 4.0)
        hands.append(side_px)
        valid.append(side_ok)
        palms.append(side_palm)

    def stack(rows: list, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.as_tensor(np.stack(rows) if rows else np.zeros((0, *shape)), dtype=torch.float32)

    m = len(mapping.body_src)
    return FitObservations(
        stack(kp, (m, 2)),
        stack(conf, (m,)),
        stack(world, (m, 3)),
        stack(wconf, (m,)),
        stack(scale, ()),
        stack(hands, (2, n_hand, 2)),
        stack(valid, (2,)),
        stack(palms, (2,)),
    )
