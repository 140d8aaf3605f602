"""Persistent person ids across frames: Hungarian assignment on 3D and 2D cues, constant velocity.

Why not an off-the-shelf multi-object tracker: the ``trackers`` package (SORT, ByteTrack,
OC-SORT; Apache-2.0) associates on 2D boxes only, speaks ``supervision.Detections`` and pulls in
the non-headless ``opencv-python``, ``supervision`` and ``rich``; boxmot pins OpenCV too and its
ReID trackers download weights. A mesh-recovery network gives much stronger cues than a box
-- a metric 3D position and a full 2D skeleton per person -- and with them a small assignment
on :func:`scipy.optimize.linear_sum_assignment` suffices.

Each track keeps its last pelvis position (camera frame, m) and 2D keypoints (px) with a
constant-velocity model. A detection may join a track when both its 3D distance (depth
down-weighted: monocular depth is the noisiest coordinate) and its mean keypoint distance
(relative to the person's 2D size) fall inside gates that widen with the time the track has been
unseen; the cheapest joint assignment wins. Velocities extrapolate through crossings and short
occlusions, so a person hidden for a few frames gets its id back; after ``max_gap_s`` unseen, a
track is forgotten and a returning person gets a new id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from hmr.result import Person

_INVALID = 1e6
_MIN_SCALE_PX = 16.0


@dataclass(frozen=True)
class TrackerConfig:
    """Association gates. Times are seconds, so frame rate and ``--stride`` do not change them."""

    max_gap_s: float = 1.0  # how long an unseen track can still be re-identified
    gate_3d_m: float = 0.5  # pelvis distance accepted from one frame to the next
    gate_3d_growth_m_per_s: float = 1.5  # plus this much per second unseen (people walk ~1.4 m/s)
    depth_weight: float = 0.3  # depth errors count this much of x/y errors
    gate_2d: float = 0.5  # mean keypoint distance / 2D body size accepted from one frame to the next
    gate_2d_growth_per_s: float = 1.5  # plus this much per second unseen
    velocity_memory: float = 0.5  # weight of the old velocity when a track is updated


@dataclass
class _Track:
    track_id: int
    t_s: float
    pelvis_m: np.ndarray  # (3,)
    keypoints_px: np.ndarray  # (K, 2)
    velocity_m_s: np.ndarray  # (3,)
    velocity_px_s: np.ndarray  # (2,) of the keypoints' centre
    hits: int = 1


def _keypoints(person: Person) -> np.ndarray:
    joints = np.asarray(person.joints_2d, np.float64).reshape(-1, 2)
    return joints if len(joints) else np.asarray(person.loc, np.float64).reshape(1, 2)


def _scale_px(keypoints: np.ndarray) -> float:
    """2D size of a person: the diagonal of its keypoints' box."""
    return max(float(np.linalg.norm(keypoints.max(0) - keypoints.min(0))), _MIN_SCALE_PX)


class Tracker:
    """Assigns ``track_id`` to the persons of consecutive frames. Ids start at 0 and are never reused."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._next_id = 0

    def update(self, persons: list[Person], t_s: float) -> list[Person]:
        """Copies of ``persons`` with ``track_id`` set, for a frame shown at ``t_s`` seconds."""
        cfg = self.config
        self._tracks = [t for t in self._tracks if t_s - t.t_s <= cfg.max_gap_s]
        pelvis = np.array([np.asarray(p.transl_pelvis, np.float64) for p in persons]).reshape(-1, 3)
        keypoints = [_keypoints(p) for p in persons]
        cost = self._cost(pelvis, keypoints, t_s)
        rows, cols = linear_sum_assignment(cost) if cost.size else (np.zeros(0, int), np.zeros(0, int))
        ids = [-1] * len(persons)
        for row, col in zip(rows, cols):
            if cost[row, col] < _INVALID:
                self._update_track(self._tracks[row], pelvis[col], keypoints[col], t_s)
                ids[col] = self._tracks[row].track_id
        for col, person_id in enumerate(ids):
            if person_id < 0:
                ids[col] = self._next_id
                self._tracks.append(_Track(self._next_id, t_s, pelvis[col], keypoints[col], np.zeros(3), np.zeros(2)))
                self._next_id += 1
        return [replace(p, track_id=track_id) for p, track_id in zip(persons, ids)]

    def _cost(self, pelvis: np.ndarray, keypoints: list[np.ndarray], t_s: float) -> np.ndarray:
        """(T, D) normalised distances in [0, 1] inside both gates, ``_INVALID`` outside."""
        cfg = self.config
        cost = np.full((len(self._tracks), len(keypoints)), _INVALID)
        if not keypoints or len({kp.shape for kp in keypoints}) != 1:
            return cost  # persons from one network share a skeleton; anything else starts new tracks
        keypoints_px = np.stack(keypoints)  # (D, K, 2)
        scale_px = np.array([_scale_px(kp) for kp in keypoints])
        for row, track in enumerate(self._tracks):
            if track.keypoints_px.shape != keypoints_px.shape[1:]:
                continue
            dt_s = t_s - track.t_s
            delta_m = pelvis - (track.pelvis_m + track.velocity_m_s * dt_s)
            delta_m[:, 2] *= cfg.depth_weight
            err_3d = np.linalg.norm(delta_m, axis=-1) / (cfg.gate_3d_m + cfg.gate_3d_growth_m_per_s * dt_s)
            predicted_px = track.keypoints_px + track.velocity_px_s * dt_s
            err_2d = (
                np.linalg.norm(keypoints_px - predicted_px, axis=-1).mean(-1)
                / scale_px
                / (cfg.gate_2d + cfg.gate_2d_growth_per_s * dt_s)
            )
            inside = (err_3d <= 1.0) & (err_2d <= 1.0)
            cost[row, inside] = 0.5 * (err_3d[inside] + err_2d[inside])
        return cost

    def _update_track(self, track: _Track, pelvis_m: np.ndarray, keypoints_px: np.ndarray, t_s: float) -> None:
        dt_s = t_s - track.t_s
        if dt_s > 0:
            memory = self.config.velocity_memory if track.hits > 1 else 0.0
            step_m_s = (pelvis_m - track.pelvis_m) / dt_s
            step_px_s = (keypoints_px.mean(0) - track.keypoints_px.mean(0)) / dt_s
            track.velocity_m_s = memory * track.velocity_m_s + (1 - memory) * step_m_s
            track.velocity_px_s = memory * track.velocity_px_s + (1 - memory) * step_px_s
        track.t_s, track.pelvis_m, track.keypoints_px = t_s, pelvis_m, keypoints_px
        track.hits += 1
