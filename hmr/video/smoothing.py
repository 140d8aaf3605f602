"""Causal temporal smoothing of tracked persons with One-Euro filters (Casiez et al., CHI 2012).

A One-Euro filter is an exponential smoother whose cutoff rises with the signal's speed: still
poses lose their jitter, fast motion keeps little lag. Rules that make it safe for bodies:

- rotations are filtered as unit quaternions with sign continuity (q and -q are one rotation;
  flipping to the hemisphere of the previous estimate keeps the blend on the short arc), never
  as raw axis-angle, whose components jump near pi;
- point sets that belong together (vertices, joints, translations, their projections) share one
  gain per frame, driven by the speed of the 3D joints, so a mesh is blended as a whole and
  never sheared by per-vertex gains;
- a track that was not seen in the previous processed frame starts afresh: nothing is smoothed
  across a gap.

Time steps come from the frame timestamps, so variable frame rate and ``--stride`` are handled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

import numpy as np
from scipy.spatial.transform import Rotation

from hmr.result import ImageResult, Person

#: ``--smooth`` default. Tuned so that, at 30 fps, the jitter (RMS frame-to-frame acceleration)
#: of 1 cm / 2 deg noise drops ~4x while a 0.3 m / 40 deg step is 90 % followed within 3 frames
#: (tests/video/test_smoothing.py).
DEFAULT_STRENGTH = 1.0
#: cutoff (Hz) at rest and speed gain at strength 1; quaternion components move at about half
#: the angular speed in rad/s, so one metre/s and one unit/s get the same gain.
MIN_CUTOFF_HZ = 0.5
SPEED_GAIN = 2.5
DERIVATIVE_CUTOFF_HZ = 1.0

_POINT_FIELDS = ("joints_3d", "vertices", "transl", "transl_pelvis", "joints_2d", "loc")


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Exponential-smoothing gain of a first-order low-pass at ``cutoff_hz`` for a step ``dt_s``."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One-Euro filter over an array of vectors ``(..., D)``.

    The speed that raises the cutoff is the norm of the filtered derivative over the last axis,
    one per vector; with ``shared=True`` their mean drives a single gain for the whole array.
    """

    def __init__(
        self, min_cutoff_hz: float, speed_gain: float, d_cutoff_hz: float = DERIVATIVE_CUTOFF_HZ, shared: bool = False
    ) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.speed_gain = speed_gain
        self.d_cutoff_hz = d_cutoff_hz
        self.shared = shared
        self.value: np.ndarray | None = None
        self.gain: np.ndarray | float = 1.0  # last gain used, for arrays blended alongside
        self._velocity: np.ndarray | None = None
        self._t_s = 0.0

    def __call__(self, x: np.ndarray, t_s: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        dt_s = t_s - self._t_s
        if self.value is None or self.value.shape != x.shape or dt_s <= 0:
            self.value, self._velocity, self._t_s, self.gain = x.copy(), np.zeros_like(x), t_s, 1.0
            return self.value.copy()
        self._t_s = t_s
        self._velocity += _alpha(self.d_cutoff_hz, dt_s) * ((x - self.value) / dt_s - self._velocity)
        speed = np.linalg.norm(self._velocity, axis=-1, keepdims=True)
        if self.shared:
            speed = speed.mean() if speed.size else 0.0
        self.gain = _alpha(self.min_cutoff_hz + self.speed_gain * speed, dt_s)
        self.value += self.gain * (x - self.value)
        return self.value.copy()


class RotationFilter:
    """One-Euro on unit quaternions with sign continuity; axis-angle in and out. ``(..., 3)``."""

    def __init__(self, min_cutoff_hz: float, speed_gain: float) -> None:
        self._quat = OneEuroFilter(min_cutoff_hz, speed_gain)

    def __call__(self, rotvec: np.ndarray, t_s: float) -> np.ndarray:
        rotvec = np.asarray(rotvec, np.float64)
        if rotvec.size == 0:
            return rotvec.copy()
        quat = Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_quat()
        if self._quat.value is not None and self._quat.value.shape == quat.shape:
            flip = (quat * self._quat.value).sum(-1) < 0
            quat[flip] *= -1.0
        smoothed = self._quat(quat, t_s)
        smoothed /= np.linalg.norm(smoothed, axis=-1, keepdims=True)
        self._quat.value = smoothed.copy()  # keep the state on the unit sphere
        return Rotation.from_quat(smoothed).as_rotvec().reshape(rotvec.shape)


class AngleFilter:
    """One-Euro on scalar angles (radians), unwrapped against the previous estimate."""

    def __init__(self, min_cutoff_hz: float, speed_gain: float) -> None:
        self._angles = OneEuroFilter(min_cutoff_hz, speed_gain)

    def __call__(self, angles: np.ndarray, t_s: float) -> np.ndarray:
        angles = np.asarray(angles, np.float64)
        previous = self._angles.value
        if previous is not None and previous.shape == angles[..., None].shape:
            angles = previous[..., 0] + np.angle(np.exp(1j * (angles - previous[..., 0])))
        return self._angles(angles[..., None], t_s)[..., 0]


class PersonSmoother:
    """The filters of one track. ``param_kinds`` maps ``Person.params`` names to their
    :class:`hmr.body.base.ParamSpec` kind; blocks of unknown kind are kept as predicted, since
    blending them could mix rotations linearly."""

    def __init__(self, strength: float = DEFAULT_STRENGTH, param_kinds: Mapping[str, str] | None = None) -> None:
        min_cutoff_hz, speed_gain = MIN_CUTOFF_HZ / strength, SPEED_GAIN / strength
        self._points = OneEuroFilter(min_cutoff_hz, speed_gain, shared=True)
        self._rotvec = RotationFilter(min_cutoff_hz, speed_gain)
        self._shape = OneEuroFilter(min_cutoff_hz, speed_gain, shared=True)
        self._param_filters: dict[str, OneEuroFilter | RotationFilter | AngleFilter] = {}
        for name, kind in (param_kinds or {}).items():
            if kind == "rotvec":
                self._param_filters[name] = RotationFilter(min_cutoff_hz, speed_gain)
            elif kind == "angle":
                self._param_filters[name] = AngleFilter(min_cutoff_hz, speed_gain)
            elif kind in ("real", "bounded"):
                self._param_filters[name] = OneEuroFilter(min_cutoff_hz, speed_gain, shared=True)
        self._blended: dict[str, np.ndarray] = {}

    def __call__(self, person: Person, t_s: float) -> Person:
        joints = np.asarray(person.joints_3d, np.float64)
        driver = joints if joints.size else np.asarray(person.transl, np.float64)[None]
        self._points(driver, t_s)
        gain = float(self._points.gain)
        points: dict[str, np.ndarray] = {}
        for name in _POINT_FIELDS:
            raw = np.asarray(getattr(person, name), np.float64)
            previous = self._blended.get(name)
            if previous is None or previous.shape != raw.shape:
                blended = raw.copy()
            else:  # gain is 1 whenever the driver filter (re)starts, so this starts afresh then too
                blended = previous + gain * (raw - previous)
            self._blended[name] = blended
            points[name] = blended.astype(np.float32)
        shape = np.concatenate([np.ravel(person.betas), np.ravel(person.expression)]).astype(np.float64)
        shape = self._shape(shape[None], t_s)[0] if shape.size else shape
        n_betas = np.size(person.betas)
        params = dict(person.params)
        for name, filt in self._param_filters.items():
            if name in params:
                params[name] = filt(params[name], t_s).astype(np.float32)
        return replace(
            person,
            **cast("dict[str, Any]", points),  # Any: mypy would match the arrays against every Person field
            rotvec=self._rotvec(person.rotvec, t_s).astype(np.float32),
            betas=shape[:n_betas].reshape(np.shape(person.betas)).astype(np.float32),
            expression=shape[n_betas:].reshape(np.shape(person.expression)).astype(np.float32),
            params=params,
        )


class TrackSmoother:
    """One :class:`PersonSmoother` per track id, dropped as soon as its track misses a processed
    frame, so a track that comes back after a gap starts afresh.

    ``strength`` scales the filters' time constants: 0 turns smoothing off, 2 smooths twice as
    long. Call :meth:`update` once per processed frame, in order, after the tracker set ids.
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH, param_kinds: Mapping[str, str] | None = None) -> None:
        if strength < 0:
            raise ValueError(f"smoothing strength must be >= 0, got {strength}")
        self.strength = strength
        self.param_kinds = dict(param_kinds or {})
        self._smoothers: dict[int, PersonSmoother] = {}

    def update(self, result: ImageResult, t_s: float) -> ImageResult:
        if self.strength == 0:
            return result
        persons: list[Person] = []
        smoothers: dict[int, PersonSmoother] = {}
        for person in result.persons:
            if person.track_id < 0:
                persons.append(person)
                continue
            smoother = self._smoothers.get(person.track_id) or PersonSmoother(self.strength, self.param_kinds)
            smoothers[person.track_id] = smoother
            persons.append(smoother(person, t_s))
        self._smoothers = smoothers
        return replace(result, persons=persons)
