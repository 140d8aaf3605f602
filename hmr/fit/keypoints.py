"""Per-person 2D/3D keypoints: BlazePose landmarks on each detected region, plus hands and face.

For every seed of :mod:`hmr.fit.detector` the bundled landmark model runs twice: once on the
region the seed gives, then on the region its own landmarks give (BlazePose's tracking step,
here used within one image), which centres and sizes the crop on the body. Regions that
converge onto a person already found are dropped, which also removes the duplicates and strays
that tiled detection produces. Hands and face run on regions derived from the pose landmarks.

People whose head the border cuts off have no face for the detector; after the detected people,
seeds laid along the border (:func:`hmr.fit.detector.border_seeds`) find them. Such a seed has no
detection behind it, so what it finds is kept only if it looks like a cut body: the border cuts
its predicted skeleton, enough of it is confidently inside, it is tall enough to be cut rather than
small and whole, and it does not lie mostly on a person already found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hmr.data.keypoint_formats import COCO133_HAND
from hmr.fit.detector import PersonDetector, PersonSeed, border_seeds, same_body, seed_from_points
from hmr.fit.mp_graphs import (
    FACE_GRAPH,
    HANDS_GRAPH,
    MODEL_COMPLEXITY,
    POSE_GRAPH,
    build_graph,
    run_graph,
)

#: BlazePose's 33 landmarks, in model order
BLAZEPOSE_NAMES = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
#: MediaPipe's 21 hand landmarks, in model order: the order COCO-WholeBody's hand slots use too
HAND_NAMES = COCO133_HAND
_FACE = slice(0, 11)
_SHOULDERS, _HIPS = [11, 12], [23, 24]
_WRISTS = {"left": 15, "right": 16}


@dataclass
class PersonKeypoints:
    """What the detector saw of one person; pixels of the image it ran on.

    ``world_m`` is BlazePose's metric 3D estimate: origin between the hips, axes of the image
    (x right, y down, z away from the camera), body size of an average adult.
    """

    score: float
    keypoints_px: np.ndarray  # (33, 2)
    confidence: np.ndarray  # (33,) in [0, 1]; 0 for points outside the image
    world_m: np.ndarray  # (33, 3)
    left_hand_px: np.ndarray | None = None  # (21, 2)
    right_hand_px: np.ndarray | None = None  # (21, 2)
    face_px: np.ndarray | None = None  # (468, 2)

    def box_px(self, min_confidence: float = 0.5) -> np.ndarray:
        """(4,) ``x0, y0, x1, y1`` around the confident keypoints (all of them if none is)."""
        pts = self.keypoints_px[self.confidence >= min_confidence]
        pts = pts if len(pts) else self.keypoints_px
        return np.concatenate([pts.min(0), pts.max(0)])

    @property
    def torso_px(self) -> float:
        """Shoulder-centre to hip-centre distance, the scale used to compare people."""
        return float(np.linalg.norm(self.keypoints_px[_SHOULDERS].mean(0) - self.keypoints_px[_HIPS].mean(0)))


def roi_for_seed(seed: PersonSeed, width: int, height: int) -> Any:
    """BlazePose's landmark region for a seed: the body circle, 1.25 times wider, as a
    normalized rotated rectangle."""
    from mediapipe.framework.formats import rect_pb2

    side = 2.0 * seed.radius_px * 1.25
    return rect_pb2.NormalizedRect(
        x_center=seed.center_px[0] / width,
        y_center=seed.center_px[1] / height,
        width=side / width,
        height=side / height,
        rotation=seed.angle_rad,
    )


def _landmarks_px(landmark_list: Any, width: int, height: int) -> np.ndarray:
    return np.array([(lm.x * width, lm.y * height) for lm in landmark_list.landmark], np.float64)


def same_person(a: PersonKeypoints, b: PersonKeypoints, head_tol: float = 0.3) -> bool:
    """Two people cannot share a head: heads closer than ``head_tol`` torso lengths mean one person."""
    heads = np.linalg.norm(a.keypoints_px[_FACE].mean(0) - b.keypoints_px[_FACE].mean(0))
    return bool(heads < head_tol * max(a.torso_px, b.torso_px, 1.0))


class KeypointDetector:
    """2D keypoints with confidences, metric 3D landmarks, hands and face, for every person.

    Args:
        hands: run the hand landmark model on both hands of each person.
        face: run the 468-point face mesh on each person.
        score_threshold: detector score threshold (see :class:`PersonDetector`).
        min_height_px: people whose confident keypoints span fewer pixels are skipped.
        min_keypoints: people with fewer confident landmarks inside the image are skipped (a
            region at the border can yield a "body" whose landmarks all lie outside).
        max_drift: a region whose landmarks move more than this many body radii when re-cropped
            on themselves holds no stable body and is dropped.
        levels: tile levels of the detector.
        border_search: also look for people cut by the image border (see the module docstring).
    """

    #: a border seed's body must have this many confident landmarks inside the image ...
    BORDER_MIN_KEYPOINTS = 10
    #: ... span this share of the image height, and have this many predicted landmarks outside it
    BORDER_MIN_HEIGHT_SHARE = 0.2
    BORDER_MIN_OUTSIDE = 3
    #: and at most this share of its box may lie on the box of a person already found
    BORDER_MAX_OVERLAP = 0.5

    def __init__(
        self,
        hands: bool = True,
        face: bool = False,
        score_threshold: float = 0.4,
        min_height_px: float = 40.0,
        min_keypoints: int = 8,
        max_drift: float = 0.2,
        levels: int = 2,
        border_search: bool = True,
    ) -> None:
        self.border_search = border_search
        self.detector = PersonDetector(score_threshold=score_threshold, levels=levels)
        self.min_height_px = min_height_px
        self.min_keypoints = min_keypoints
        self.max_drift = max_drift
        self._pose = build_graph(POSE_GRAPH, side_inputs={"model_complexity": MODEL_COMPLEXITY}, roi_input="roi")
        self._hands = build_graph(HANDS_GRAPH, roi_input="landmarks") if hands else None
        self._face = build_graph(FACE_GRAPH, roi_input="landmarks") if face else None

    def _pose_on(self, image_rgb: np.ndarray, seed: PersonSeed) -> tuple[Any, PersonSeed] | None:
        height, width = image_rgb.shape[:2]
        out = run_graph(self._pose, {"image": image_rgb, "roi": roi_for_seed(seed, width, height)})
        if out.landmarks is None:
            return None
        aux = _landmarks_px(out.aux_landmarks, width, height)
        return out, seed_from_points(aux[0], aux[1], seed.score)

    def _person(self, image_rgb: np.ndarray, seed: PersonSeed) -> tuple[PersonKeypoints, Any, PersonSeed] | None:
        """Landmarks of the person a seed points at, or None when no stable body is there."""
        height, width = image_rgb.shape[:2]
        first = self._pose_on(image_rgb, seed)
        if first is None:
            return None
        second = self._pose_on(image_rgb, first[1])
        if second is None:
            return None
        out, refined = second
        kp_first = _landmarks_px(first[0].landmarks, width, height)
        kp = _landmarks_px(out.landmarks, width, height)
        drift = np.median(np.linalg.norm(kp - kp_first, axis=1)) / max(refined.radius_px, 1.0)
        if drift > self.max_drift:
            return None
        vis = np.array([lm.visibility * lm.presence for lm in out.landmarks.landmark])
        inside = (kp[:, 0] >= 0) & (kp[:, 0] < width) & (kp[:, 1] >= 0) & (kp[:, 1] < height)
        world = np.array([(lm.x, lm.y, lm.z) for lm in out.world_landmarks.landmark], np.float64)
        person = PersonKeypoints(
            score=seed.score, keypoints_px=kp, confidence=np.clip(vis, 0, 1) * inside, world_m=world
        )
        return person, out.landmarks, refined

    def _add_hands(self, image_rgb: np.ndarray, person: PersonKeypoints, landmarks: Any) -> None:
        height, width = image_rgb.shape[:2]
        out = run_graph(self._hands, {"image": image_rgb, "landmarks": landmarks})
        for side in ("left", "right"):
            hand = getattr(out, f"{side}_hand")
            if hand is None:
                continue
            hand_px = _landmarks_px(hand, width, height)
            palm = np.linalg.norm(hand_px[9] - hand_px[0])  # wrist -> middle knuckle
            wrist = person.keypoints_px[_WRISTS[side]]
            # a hand crop can land on a neighbour's hand; keep only hands attached to this wrist
            if palm >= 8.0 and np.linalg.norm(hand_px[0] - wrist) < 1.5 * palm:
                setattr(person, f"{side}_hand_px", hand_px)

    def _add_face(self, image_rgb: np.ndarray, person: PersonKeypoints, landmarks: Any) -> None:
        height, width = image_rgb.shape[:2]
        out = run_graph(self._face, {"image": image_rgb, "landmarks": landmarks})
        if out.face is not None:
            person.face_px = _landmarks_px(out.face, width, height)

    def detect(self, image_rgb: np.ndarray) -> list[PersonKeypoints]:
        """Every person found, best detector score first. ``image_rgb``: (H, W, 3) uint8."""
        image_rgb = np.ascontiguousarray(image_rgb)
        # hand and face graphs track their crops across calls; start each image afresh so the
        # result does not depend on what was processed before
        for graph in (self._hands, self._face):
            if graph is not None:
                graph.reset()
        people: list[PersonKeypoints] = []
        regions: list[PersonSeed] = []  # where each accepted person's landmarks put their body
        seeds = self.detector.detect(image_rgb)
        if self.border_search:
            seeds += border_seeds(image_rgb.shape[1], image_rgb.shape[0])
        for seed in seeds:
            found = self._candidate(image_rgb, seed, people, regions)
            if found is None:
                continue
            person, landmarks, region = found
            if self._hands is not None:
                self._add_hands(image_rgb, person, landmarks)
            if self._face is not None:
                self._add_face(image_rgb, person, landmarks)
            people.append(person)
            regions.append(region)
        return people

    def _candidate(
        self, image_rgb: np.ndarray, seed: PersonSeed, people: list[PersonKeypoints], regions: list[PersonSeed]
    ) -> tuple[PersonKeypoints, Any, PersonSeed] | None:
        """The new person a seed leads to, or None (no body, too small, or someone already found)."""
        if any(same_body(seed, region) for region in regions):
            return None  # a person already found: skip the landmark runs
        found = self._person(image_rgb, seed)
        if found is None:
            return None
        person = found[0]
        box = person.box_px()
        if box[3] - box[1] < self.min_height_px and box[2] - box[0] < self.min_height_px:
            return None
        if (person.confidence >= 0.5).sum() < self.min_keypoints:
            return None
        if any(same_person(person, other) for other in people):
            return None
        if seed.at_border and not self._is_cut_body(person, people, image_rgb.shape[1], image_rgb.shape[0]):
            return None
        return found

    def _is_cut_body(self, person: PersonKeypoints, people: list[PersonKeypoints], width: int, height: int) -> bool:
        """Whether what a border seed found is a body the border cuts (see the ``BORDER_*`` limits)."""
        kp = person.keypoints_px
        outside = (kp[:, 0] < 0) | (kp[:, 0] >= width) | (kp[:, 1] < 0) | (kp[:, 1] >= height)
        box = person.box_px()
        if (
            outside.sum() < self.BORDER_MIN_OUTSIDE
            or (person.confidence >= 0.5).sum() < self.BORDER_MIN_KEYPOINTS
            or box[3] - box[1] < self.BORDER_MIN_HEIGHT_SHARE * height
        ):
            return False
        area = max(float((box[2] - box[0]) * (box[3] - box[1])), 1.0)
        for other in people:
            ob = other.box_px()
            overlap_w = max(0.0, min(box[2], ob[2]) - max(box[0], ob[0]))
            overlap_h = max(0.0, min(box[3], ob[3]) - max(box[1], ob[1]))
            if overlap_w * overlap_h / area > self.BORDER_MAX_OVERLAP:
                return False
        return True
