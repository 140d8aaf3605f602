"""Fit a body model to detected keypoints: camera-frame pose, shape and position, batched.

Per person, in the camera of the image (OpenCV axes, metres):

* start: the rotation that aligns the model's torso with the detector's metric landmarks
  (Kabsch), and the translation that puts those landmarks, scaled to the model's size, onto
  their pixels (linear least squares): depth comes from body size;
* then L-BFGS (per person, :mod:`hmr.fit.lbfgs`) on a robust (pseudo-Huber) reprojection error
  measured in fractions of the person's size and weighted by detector confidence, a scale-free
  3D term on hip-relative landmark positions (it settles which way a limb points along the ray),
  hand landmarks when seen, and the pose and shape priors of the
  :class:`~hmr.fit.fit_bodies.FitBody`. Shape is held at the prior's mean for the first stage
  and freed in the second; a last stage turns the 3D term down and lets the pixels decide.

Everything runs on one CPU thread: the problem is a few hundred small tensors, where thread
hand-offs cost more than they bring, and one thread keeps results bit-reproducible.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import roma
import torch

from hmr.fit.fit_bodies import FitBody
from hmr.fit.lbfgs import minimize
from hmr.fit.mapping import KeypointMapping
from hmr.fit.observations import FitObservations
from hmr.geometry import rotvec_to_rotmat

if TYPE_CHECKING:
    import numpy as np


@dataclass
class FitSettings:
    """Weights and schedule; residual scales are fractions of the person's size (2D), of the
    model's torso (3D) and of the palm (hands)."""

    #: L-BFGS iterations of the three stages: pose; pose + shape; pose + shape with the 3D term
    #: turned down to ``polish_weight_3d`` (the metric landmarks chose the basin, now the pixels
    #: decide: the detector's 3D is less precise than its 2D)
    iterations: tuple[int, int, int] = (30, 20, 10)
    polish_weight_3d: float = 0.05
    sigma_2d: float = 0.015
    loss_2d: str = "huber"
    sigma_3d: float = 0.15
    sigma_hand: float = 0.15
    weight_3d: float = 0.3
    weight_hand: float = 0.5
    weight_pose: float = 0.02
    weight_shape: float = 0.05
    depth_anchor_sigma: float = 0.1  # refinement: relative depth change that costs as much as one sigma


@dataclass
class FitState:
    """A fitted (or initial) batch: ``x_cam = rotmat @ x_body + transl``."""

    rotmat: torch.Tensor  # (B, 3, 3)
    transl: torch.Tensor  # (B, 3)
    variables: dict[str, torch.Tensor] = field(default_factory=dict)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def cauchy(x: torch.Tensor) -> torch.Tensor:
    """Robust cost ``log(1 + x^2)``: quadratic near 0, logarithmic for outliers."""
    return torch.log1p(x.square())


def pseudo_huber(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(1 + x^2) - 1``: quadratic near 0, linear beyond; bounded pull from any one point."""
    return torch.sqrt(1.0 + x.square()) - 1.0


def project(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) camera points -> (B, N, 2) pixels; points behind the camera are held at 5 cm."""
    z = points[..., 2:].clamp_min(0.05)
    return (points[..., :2] / z) * K[[0, 1], [0, 1]] + K[:2, 2]


class Fitter:
    """Fits ``fit_body`` to observations paired by ``mapping`` (see the module docstring)."""

    def __init__(self, fit_body: FitBody, mapping: KeypointMapping, settings: FitSettings | None = None) -> None:
        self.fit_body = fit_body
        self.mapping = mapping
        self.settings = settings or FitSettings()
        names = list(mapping.names)
        self._hips = [names.index("left_hip"), names.index("right_hip")]
        self._torso = [names.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
        self._align = self._torso + [names.index(n) for n in ("nose", "left_ear", "right_ear") if n in names]
        self._dst = torch.as_tensor(mapping.body_dst)
        self._hand_dst = torch.as_tensor(mapping.hand_dst)

    # -- start ---------------------------------------------------------------------------
    def initial_state(
        self, obs: FitObservations, K: torch.Tensor, variables: dict[str, torch.Tensor], limbs: bool = True
    ) -> FitState:
        """Rotation by Kabsch on torso and head, translation by linear least squares, and (with
        ``limbs``) arms and legs bent as the metric landmarks show."""
        with torch.no_grad():
            model = self.fit_body.keypoints(variables, hands=False)[:, self._dst]  # (B, M, 3)
            model_rel = model - model[:, self._hips].mean(1, keepdim=True)
            world = obs.world_m
            weights = obs.world_confidence[:, self._align]
            rotmat, _ = roma.rigid_points_registration(
                model_rel[:, self._align], world[:, self._align], weights=weights
            )
            size_model = self._torso_length(model_rel)
            size_world = self._torso_length(world)
            shape_cam = world * (size_model / size_world.clamp_min(1e-3))[:, None, None]
            hips_cam = self._solve_translation(shape_cam, obs, K)
            transl = hips_cam - (rotmat @ model[:, self._hips].mean(1)[..., None])[..., 0]
            if limbs:
                world_body = world @ rotmat  # R^T w, row vectors
                variables = self.fit_body.pose_from_landmarks(
                    variables, model_rel[0], world_body, list(self.mapping.names)
                )
        return FitState(rotmat, transl, variables)

    def _torso_length(self, points: torch.Tensor) -> torch.Tensor:
        shoulders = points[:, self._torso[:2]].mean(1)
        hips = points[:, self._torso[2:]].mean(1)
        return (shoulders - hips).norm(dim=-1)

    @staticmethod
    def _solve_translation(shape_cam: torch.Tensor, obs: FitObservations, K: torch.Tensor) -> torch.Tensor:
        """(B, 3) translation t minimizing the linearized reprojection of ``shape_cam + t``."""
        f = K[[0, 1], [0, 1]]
        c = K[:2, 2]
        du = obs.keypoints_px - c  # (B, M, 2)
        w = (obs.confidence + 1e-4).sqrt()
        rows = []
        rhs = []
        for axis in (0, 1):
            a = torch.zeros((*du.shape[:2], 3), dtype=du.dtype)
            a[..., axis] = f[axis]
            a[..., 2] = -du[..., axis]
            rows.append(a * w[..., None])
            rhs.append((du[..., axis] * shape_cam[..., 2] - f[axis] * shape_cam[..., axis]) * w)
        A = torch.cat(rows, 1)
        b = torch.cat(rhs, 1)
        t = torch.linalg.solve(A.transpose(1, 2) @ A + 1e-6 * torch.eye(3), (A.transpose(1, 2) @ b[..., None]))[..., 0]
        t[:, 2] = t[:, 2].clamp(0.3, 200.0)
        return t

    # -- objective -----------------------------------------------------------------------
    def _costs(
        self,
        state: FitState,
        delta: torch.Tensor,
        obs: FitObservations,
        K: torch.Tensor,
        hands: bool,
        anchor: FitState | None,
        weight_3d: float,
    ) -> torch.Tensor:
        s = self.settings
        rotmat = state.rotmat @ rotvec_to_rotmat(delta)
        keypoints = self.fit_body.keypoints(state.variables, hands) @ rotmat.transpose(1, 2) + state.transl[:, None]
        body = keypoints[:, self._dst]
        err_px = (project(body, K) - obs.keypoints_px).norm(dim=-1)
        r2d = err_px / (s.sigma_2d * obs.scale_px[:, None])
        cost_2d = (obs.confidence * self._robust_2d(r2d)).sum(1) / obs.confidence.sum(1).clamp_min(1e-6)

        rel = body - body[:, self._hips].mean(1, keepdim=True)
        wc = obs.world_confidence
        with torch.no_grad():
            scale = (wc[..., None] * rel * obs.world_m).sum((1, 2)) / (wc[..., None] * obs.world_m.square()).sum((1, 2))
            torso = self._torso_length(rel).clamp_min(1e-3)
        r3d = (rel - scale[:, None, None] * obs.world_m).norm(dim=-1) / (s.sigma_3d * torso[:, None])
        cost_3d = (wc * cauchy(r3d)).sum(1) / wc.sum(1).clamp_min(1e-6)

        total = cost_2d + weight_3d * cost_3d
        total = total + s.weight_pose * self.fit_body.prior(
            state.variables, obs.hands_valid if hands else torch.zeros_like(obs.hands_valid)
        )
        total = total + s.weight_shape * self.fit_body.shape_prior(state.variables)
        if hands and obs.hands_px.shape[2]:
            hand_px = project(keypoints[:, self._hand_dst.flatten()], K).reshape(obs.hands_px.shape)
            r_hand = (hand_px - obs.hands_px).norm(dim=-1) / (s.sigma_hand * obs.hands_scale_px[..., None])
            total = total + s.weight_hand * (obs.hands_valid * cauchy(r_hand).mean(-1)).sum(1)
        if anchor is not None:
            depth = (state.transl[:, 2] / anchor.transl[:, 2]).log() / s.depth_anchor_sigma
            total = total + depth.square()
            for key in self.fit_body.shape_keys:
                total = total + ((state.variables[key] - anchor.variables[key]) / 0.3).flatten(1).square().sum(1)
        return total

    def _robust_2d(self, r: torch.Tensor) -> torch.Tensor:
        return pseudo_huber(r) if self.settings.loss_2d == "huber" else cauchy(r)

    def _run_stage(
        self,
        state: FitState,
        obs: FitObservations,
        K: torch.Tensor,
        free: list[str],
        hands: bool,
        iterations: int,
        anchor: FitState | None,
        weight_3d: float,
    ) -> FitState:
        if iterations <= 0:
            return state
        batch = obs.batch_size
        # one row per person: rotation update, translation, then the free variables
        blocks = [("delta", (3,)), ("transl", (3,))] + [(k, tuple(state.variables[k].shape[1:])) for k in free]
        sizes = [math.prod(shape) for _, shape in blocks]
        x0 = torch.cat([torch.zeros(batch, 3), state.transl] + [state.variables[k].reshape(batch, -1) for k in free], 1)

        def unpack(x: torch.Tensor) -> tuple[torch.Tensor, FitState]:
            parts = dict(zip([name for name, _ in blocks], torch.split(x, sizes, dim=1)))
            variables = dict(state.variables)
            for name, shape in blocks[2:]:
                variables[name] = parts[name].reshape(batch, *shape)
            return parts["delta"], FitState(state.rotmat, parts["transl"], variables)

        def costs(x: torch.Tensor) -> torch.Tensor:
            delta, trial = unpack(x)
            return self._costs(trial, delta, obs, K, hands, anchor, weight_3d)

        x = minimize(costs, x0, iterations)
        delta, fitted = unpack(x)
        rotmat = state.rotmat @ rotvec_to_rotmat(delta)
        return FitState(rotmat, fitted.transl, {k: v.detach() for k, v in fitted.variables.items()})

    def fit(
        self,
        obs: FitObservations,
        K: torch.Tensor | np.ndarray,
        variables: dict[str, torch.Tensor],
        start: FitState | None = None,
        anchored: bool = False,
    ) -> FitState:
        """Fit B people. ``variables``: the fit body's starting variables; ``start``: a starting
        rotation and translation (default: :meth:`initial_state`); ``anchored``: keep depth and
        shape near ``start`` (refining a network prediction)."""
        K = torch.as_tensor(K, dtype=torch.float32)
        with single_thread():
            state = (
                FitState(start.rotmat, start.transl, variables)
                if start is not None
                else self.initial_state(obs, K, variables)
            )
            state = FitState(
                state.rotmat.float(), state.transl.float(), {k: v.float() for k, v in state.variables.items()}
            )
            anchor = state if anchored else None
            hands = bool(obs.hands_valid.any())
            pose_free = self.fit_body.pose_keys(hands)
            s = self.settings
            state = self._run_stage(state, obs, K, pose_free, hands, s.iterations[0], anchor, s.weight_3d)
            everything = pose_free + self.fit_body.shape_keys
            state = self._run_stage(state, obs, K, everything, hands, s.iterations[1], anchor, s.weight_3d)
            state = self._run_stage(state, obs, K, everything, hands, s.iterations[2], anchor, s.polish_weight_3d)
        return state
