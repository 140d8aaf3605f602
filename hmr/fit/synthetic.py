"""Synthetic ground truth for the fitter: plausible Anny people, a known camera, detector-like noise.

Observations are made the way :class:`hmr.fit.keypoints.KeypointDetector` reports them (33
BlazePose landmarks, confidences, metric landmarks in the crop's frame at an average body size),
so the whole path from detector output to fitted body is exercised. Used by the tests and by
``benchmarks/bench_fit.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hmr.camera import intrinsics_from_fov
from hmr.fit.fit_bodies import AnnyFitBody
from hmr.fit.keypoints import PersonKeypoints
from hmr.fit.mapping import KeypointMapping
from hmr.fit.observations import ray_rotation
from hmr.geometry import rotvec_to_rotmat

#: body joints the accuracy is measured on (anny bone heads)
EVAL_BONES = (
    "upperleg01.L",
    "upperleg01.R",
    "lowerleg01.L",
    "lowerleg01.R",
    "foot.L",
    "foot.R",
    "upperarm01.L",
    "upperarm01.R",
    "lowerarm01.L",
    "lowerarm01.R",
    "wrist.L",
    "wrist.R",
    "spine03",
    "neck01",
    "head",
)
IMAGE_SIZE = (1280, 960)


@dataclass
class SyntheticPeople:
    """Observations of B people and their ground truth."""

    people: list[PersonKeypoints]
    K: np.ndarray
    joints_cam: np.ndarray  # (B, J, 3) EVAL_BONES in the camera frame
    hips_depth: np.ndarray  # (B,)
    rotmat: torch.Tensor  # (B, 3, 3) ground truth, x_cam = rotmat @ x_body + transl
    transl: torch.Tensor  # (B, 3)
    variables: dict[str, torch.Tensor]


def sample_people(
    fit_body: AnnyFitBody,
    mapping: KeypointMapping,
    count: int,
    seed: int,
    noise_frac: float = 0.01,
    dropout: float = 0.1,
    world_noise_m: float = 0.03,
) -> SyntheticPeople:
    """``count`` adults 3-5 m from a 1280 x 960 camera with a 60 degree field of view.

    Pose: a draw from the fit body's own prior at half its width (so plausible); shape: adults
    of 1.55-1.86 m. Noise: 2D Gaussian of ``noise_frac`` of the person's height, each landmark
    dropped with probability ``dropout``, metric landmarks with ``world_noise_m`` of noise.
    """
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    K = intrinsics_from_fov(*IMAGE_SIZE, 60.0)
    variables = fit_body.init_variables(count)
    # pose: a draw from the prior at half its width, flexion of knees and elbows kept positive
    for j, prior in enumerate(fit_body.joint_priors):
        axis = torch.tensor(prior.axis) / torch.tensor(prior.axis).norm()
        swing = torch.randn(count, 3, generator=gen) * prior.swing_sigma * 0.5
        swing = swing - (swing @ axis)[:, None] * axis
        if prior.limits:
            low, high = prior.limits
            along = low + (high - low) * 0.6 * torch.rand(count, generator=gen)
        else:
            along = torch.randn(count, generator=gen) * prior.twist_sigma * 0.5
        variables["joints"][:, j] = swing + along[:, None] * axis
    pheno = torch.stack([torch.rand(count, generator=gen) for _ in fit_body.phenotype_labels], 1)
    # adults of 1.55 m (short woman) to 1.86 m (tall man)
    ranges = {
        "gender": (0.0, 1.0),
        "age": (0.67, 0.9),
        "muscle": (0.3, 0.7),
        "weight": (0.3, 0.7),
        "height": (0.30, 0.46),
        "proportions": (0.3, 0.7),
    }
    for i, name in enumerate(fit_body.phenotype_labels):
        low, high = ranges[name]
        pheno[:, i] = low + (high - low) * pheno[:, i]
    unit = (pheno - fit_body.pheno_low) / fit_body.pheno_span
    variables["shape"] = torch.logit(unit)

    # camera pose: upright, facing the camera within +-60 deg of yaw, 3-5 m away
    yaw = (torch.rand(count, generator=gen) * 2 - 1) * np.radians(60)
    tilt = torch.randn(count, 2, generator=gen) * np.radians(5)
    flip = torch.tensor([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])  # y-up facing +z -> camera facing
    rot = flip @ rotvec_to_rotmat(torch.stack([tilt[:, 0], yaw, tilt[:, 1]], 1))
    depth = 3.0 + 2.0 * torch.rand(count, generator=gen)
    lateral = (torch.rand(count, 2, generator=gen) * 2 - 1) * torch.tensor([0.3, 0.1]) * depth[:, None]
    with torch.no_grad():
        kp_body = fit_body.keypoints(variables, hands=False)
    hips_body = kp_body[:, [fit_body.keypoint_names.index(n) for n in ("coco_left_hip", "coco_right_hip")]].mean(1)
    hips_cam = torch.cat([lateral, depth[:, None]], 1)
    transl = hips_cam - (rot @ hips_body[..., None])[..., 0]
    kp_cam = (kp_body @ rot.transpose(1, 2) + transl[:, None]).numpy().astype(np.float64)

    names = fit_body.keypoint_names
    mapped = list(mapping.names)
    hips_at = [mapped.index("left_hip"), mapped.index("right_hip")]
    shoulders_at = [mapped.index("left_shoulder"), mapped.index("right_shoulder")]
    people = []
    for b in range(count):
        pts = kp_cam[b, mapping.body_dst]
        uv = pts[:, :2] / pts[:, 2:] * K[[0, 1], [0, 1]] + K[:2, 2]
        height_px = np.ptp(uv[:, 1])
        keypoints_px = np.zeros((33, 2))
        confidence = np.zeros(33)
        world = np.zeros((33, 3))
        keypoints_px[mapping.body_src] = uv + rng.normal(0, noise_frac * height_px, uv.shape)
        confidence[mapping.body_src] = rng.uniform(0.6, 1.0, len(uv)) * (rng.random(len(uv)) > dropout)
        rel = pts - pts[hips_at].mean(0)
        torso = np.linalg.norm(rel[shoulders_at].mean(0))
        # the detector's metric landmarks: an average-size body (0.5 m torso), in the frame of the crop's ray
        rel = rel * (0.5 / torso)
        hips_px = uv[hips_at].mean(0)
        world[mapping.body_src] = rel @ ray_rotation(hips_px, K) + rng.normal(0, world_noise_m, rel.shape)
        people.append(PersonKeypoints(score=1.0, keypoints_px=keypoints_px, confidence=confidence, world_m=world))
    eval_idx = [names.index(n) for n in EVAL_BONES]
    return SyntheticPeople(people, K, kp_cam[:, eval_idx], hips_cam[:, 2].numpy(), rot, transl, variables)


def pa_mpjpe(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """(B,) mean joint error after the best similarity alignment (Procrustes), per person.
    pred, true: (B, J, 3)."""
    out = []
    for p, t in zip(pred, true):
        pc, tc = p - p.mean(0), t - t.mean(0)
        u, s, vt = np.linalg.svd(pc.T @ tc)
        d = np.sign(np.linalg.det(u @ vt))
        rot = (u * [1, 1, d]) @ vt
        scale = (s * [1, 1, d]).sum() / (pc**2).sum()
        out.append(np.linalg.norm(scale * pc @ rot - tc, axis=1).mean())
    return np.asarray(out)
