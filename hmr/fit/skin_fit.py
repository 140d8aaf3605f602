"""Fitting one body model to another's skin: SMPL / SMPL-X -> SKEL, SMPL -> SMPL-X.

The target is posed to match the source's camera-frame vertices, batched (CPU or GPU), with
L-BFGS: first the root (orientation, translation), then everything. Meshes of different
topology are matched through a fixed vertex correspondence: each target vertex takes its nearest
source vertex on the two rest meshes (both T-posed and aligned), which needs no licence-gated
transfer file. The fit error reported per instance is the mean distance between corresponding
vertices after the fit, in mm.

Target labels store ``transl`` so that ``vertices_cam = model(poses, betas).vertices + transl``
for SKEL (it has no translation of its own), and the ``smplx`` convention for SMPL-X.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hmr.body import find_asset, load_body_model
from hmr.body.dataset_bodies import BodyBank, model_file
from hmr.body.skel_dofs import BALL_JOINT_DOFS, BALL_JOINTS, ball_rotmats_to_dofs
from hmr.errors import HmrError
from hmr.geometry import rotvec_to_rotmat

#: SKEL ball joints (bone index) and the SMPL joints whose chained rotations start them
_SKEL_BALL_FROM_SMPL = {0: (), 1: (2,), 6: (1,), 15: (14, 17), 20: (13, 16)}


class SkelTarget:
    """SKEL through ``hmr.body``: parameters ``poses`` (46), ``betas`` (10), ``transl`` (3)."""

    name = "skel"

    def __init__(self, models_dir: Path, gender: str, device: str) -> None:
        self.gender = "male" if gender == "neutral" else gender  # SKEL has no neutral model
        self.model = load_body_model("skel", models_dir, self.gender, device=device)
        self.model_path = find_asset("skel", self.gender, models_dir)
        self.device = device
        self.faces = self.model.faces

    def vertices(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(poses=params["poses"], betas=params["betas"]).vertices + params["transl"][:, None]

    def rest_vertices(self) -> np.ndarray:
        zero = {
            "poses": torch.zeros(1, 46, device=self.device),
            "betas": torch.zeros(1, 10, device=self.device),
            "transl": torch.zeros(1, 3, device=self.device),
        }
        with torch.no_grad():
            return self.vertices(zero)[0].cpu().numpy()

    def init_params(self, src_params: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        n = len(src_params["global_orient"])
        rots = np.concatenate(
            [src_params["global_orient"].reshape(n, 1, 3), src_params["body_pose"].reshape(n, -1, 3)], 1
        )
        rotmats = rotvec_to_rotmat(torch.as_tensor(rots, dtype=torch.float32))
        ball = []
        for bone in BALL_JOINTS:
            R = rotmats[:, 0] if bone == 0 else torch.eye(3).expand(n, 3, 3)
            for joint in _SKEL_BALL_FROM_SMPL[bone]:
                R = R @ rotmats[:, joint]
            ball.append(R)
        poses = torch.zeros(n, 46)
        dofs = ball_rotmats_to_dofs(torch.stack(ball, 1))
        for j, idx in enumerate(BALL_JOINT_DOFS):
            poses[:, list(idx)] = dofs[:, j]
        return {"poses": poses, "betas": torch.zeros(n, 10), "transl": torch.zeros(n, 3)}

    def label_params(self, params: dict[str, torch.Tensor], i: int) -> dict[str, np.ndarray]:
        return {k: params[k][i].detach().cpu().numpy() for k in ("poses", "betas", "transl")}


class SmplxTarget:
    """Neutral-hand SMPL-X (10 betas) through ``smplx``: body pose only, hands and face at rest."""

    name = "smplx"

    def __init__(self, models_dir: Path, gender: str, device: str) -> None:
        self.gender = gender
        self.bank = BodyBank(models_dir)
        self.model = self.bank.model("smplx", gender, 10, True).to(device=device, dtype=torch.float32)
        self.model_path = model_file(self.bank.models_dir, "smplx", gender)
        self.device = device
        self.faces = np.asarray(self.model.faces, np.int64)

    def vertices(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        n = params["betas"].shape[0]
        zeros = {
            k: torch.zeros(n, d, device=self.device)
            for k, d in (
                ("left_hand_pose", 45),
                ("right_hand_pose", 45),
                ("jaw_pose", 3),
                ("leye_pose", 3),
                ("reye_pose", 3),
                ("expression", 10),
            )
        }
        return self.model(**params, **zeros).vertices

    def rest_vertices(self) -> np.ndarray:
        zero = {
            "global_orient": torch.zeros(1, 3),
            "body_pose": torch.zeros(1, 63),
            "betas": torch.zeros(1, 10),
            "transl": torch.zeros(1, 3),
        }
        with torch.no_grad():
            return self.vertices({k: v.to(self.device) for k, v in zero.items()})[0].cpu().numpy()

    def init_params(self, src_params: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        n = len(src_params["global_orient"])
        return {
            "global_orient": torch.as_tensor(src_params["global_orient"], dtype=torch.float32).reshape(n, 3),
            "body_pose": torch.as_tensor(src_params["body_pose"], dtype=torch.float32).reshape(n, -1)[:, :63],
            "betas": torch.zeros(n, 10),
            "transl": torch.zeros(n, 3),
        }

    def label_params(self, params: dict[str, torch.Tensor], i: int) -> dict[str, np.ndarray]:
        out = {k: params[k][i].detach().cpu().numpy() for k in ("global_orient", "body_pose", "betas", "transl")}
        out.update(
            {
                k: np.zeros(d, np.float32)
                for k, d in (
                    ("left_hand_pose", 45),
                    ("right_hand_pose", 45),
                    ("jaw_pose", 3),
                    ("leye_pose", 3),
                    ("reye_pose", 3),
                    ("expression", 10),
                )
            }
        )
        return out


TARGETS = {"skel": SkelTarget, "smplx": SmplxTarget}


def correspondence(
    source_rest: np.ndarray, source_faces: np.ndarray, target_rest: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each target vertex as a barycentric point of the source surface: (indices (Vt, 3), weights (Vt, 3)).

    One topology maps to itself; otherwise each target rest vertex takes the closest point on the
    source rest surface (the two rest meshes are T-posed and aligned).
    """
    n = len(target_rest)
    if len(source_rest) == n:
        return np.repeat(np.arange(n)[:, None], 3, 1), np.tile([1.0, 0.0, 0.0], (n, 1))
    import trimesh
    from scipy.spatial import cKDTree

    mesh = trimesh.Trimesh(source_rest, source_faces, process=False)
    _, near = cKDTree(source_rest).query(target_rest, k=3)
    candidates = mesh.vertex_faces[near].reshape(n, -1)  # faces around the 3 nearest vertices, -1 padded
    point_ids, slots = np.nonzero(candidates >= 0)
    faces = candidates[point_ids, slots]
    closest = trimesh.triangles.closest_point(source_rest[source_faces[faces]], target_rest[point_ids])
    dist = np.linalg.norm(closest - target_rest[point_ids], axis=1)
    order = np.lexsort((dist, point_ids))
    first = order[np.r_[True, point_ids[order][1:] != point_ids[order][:-1]]]  # best face per target vertex
    idx = np.asarray(source_faces)[faces[first]]
    weights = trimesh.triangles.points_to_barycentric(source_rest[idx], closest[first])
    weights = np.clip(weights, 0.0, 1.0)
    return idx, weights / weights.sum(1, keepdims=True)


def map_vertices(verts: torch.Tensor, corr: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Source vertices (B, Vs, 3) -> corresponding points in target topology (B, Vt, 3)."""
    idx, w = corr
    return (verts[:, idx] * w[None, :, :, None]).sum(2)


def shape_from_rest(target, rest_verts: torch.Tensor) -> torch.Tensor:
    """Target betas whose rest mesh best matches the source's rest meshes (B, Vt, 3), up to a shift.

    At rest the skin is linear in the betas, so this is a least-squares solve, not an optimisation:
    it hands the pose fit a body of the right size and leaves it only the pose to find. (B, 10)
    """
    n_betas = 10
    probe = {
        k: v
        for k, v in target.init_params(
            {"global_orient": np.zeros((n_betas + 1, 3)), "body_pose": np.zeros((n_betas + 1, 69))}
        ).items()
    }
    probe["betas"] = torch.cat([torch.zeros(1, n_betas), torch.eye(n_betas)])
    probe = {k: v.to(target.device) for k, v in probe.items()}
    with torch.no_grad():
        basis = target.vertices(probe)
    base, dirs = basis[0], basis[1:] - basis[0]  # (V, 3), (10, V, 3)
    dirs = dirs - dirs.mean(1, keepdim=True)
    A = dirs.reshape(n_betas, -1).T  # (3V, 10)
    residual = rest_verts.to(target.device) - rest_verts.mean(1, keepdim=True).to(target.device)
    residual = residual - (base - base.mean(0))
    b = residual.reshape(len(residual), -1, 1)
    return torch.linalg.lstsq(A.expand(len(residual), -1, -1), b).solution[..., 0].cpu()


def fit_to_vertices(
    target, source_verts: torch.Tensor, init: dict[str, torch.Tensor], iters: int = 60
) -> tuple[dict[str, torch.Tensor], np.ndarray]:
    """Fit ``target`` to camera-frame vertices (B, Vt, 3) already in target topology.

    Returns the parameters and the per-instance mean vertex error in mm (B,).
    """
    dev = target.device
    source_verts = source_verts.to(dev, torch.float32)
    params = {k: v.to(dev).clone() for k, v in init.items()}
    with torch.no_grad():  # put the initial body on the source: centroids together
        params["transl"] += source_verts.mean(1) - target.vertices(params).mean(1)
    for p in params.values():
        p.requires_grad_(True)

    def run(free: list[str], steps: int) -> None:
        opt = torch.optim.LBFGS(
            [params[k] for k in free],
            lr=1.0,
            max_iter=steps,
            history_size=20,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-10,
            tolerance_change=1e-14,
        )

        def closure():
            opt.zero_grad()
            sq = ((target.vertices(params) - source_verts) ** 2).sum(-1).mean(1)  # (B,) m^2
            prior = 1e-7 * sum((params[k] ** 2).sum(-1) for k in free if k not in ("transl", "betas"))
            loss = (sq + prior).sum()
            loss.backward()
            return loss

        opt.step(closure)

    root: list[str] = [k for k in ("global_orient", "transl") if k in params]
    if "poses" in params:  # SKEL's root is its pelvis DoFs: fit them first, alone
        pelvis = params["poses"]
        mask = torch.zeros_like(pelvis)
        mask[:, :3] = 1
        hook = pelvis.register_hook(lambda g: g * mask)
        run(["poses", "transl"], max(5, iters // 6))
        hook.remove()
    else:
        run(root, max(5, iters // 6))
    run(list(params), iters)
    with torch.no_grad():
        err_mm = (target.vertices(params) - source_verts).norm(dim=-1).mean(1) * 1000.0
    return params, err_mm.cpu().numpy()


def pose_target_model(
    kind: str, gender: str, params: dict[str, np.ndarray], models_dir: str | Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame vertices (V, 3) and faces of a stored SKEL or Anny label (as written by convert-body)."""
    if kind == "anny":
        body = load_body_model("anny")
        tensors = {k: torch.as_tensor(np.asarray(v, np.float32)).reshape(1, -1) for k, v in params.items()}
        transl = tensors.pop("transl", torch.zeros(1, 3))
        with torch.no_grad():
            vertices = body(**tensors).vertices[0] + transl[0]
        return vertices.numpy().astype(np.float64), np.asarray(body.faces, np.int64)
    if kind != "skel":
        raise HmrError(f"drawing {kind} labels is not supported; convert them to skel, anny, smpl or smplx")
    target = SkelTarget(BodyBank(models_dir).models_dir, gender, "cpu")
    tensors = {k: torch.as_tensor(np.asarray(v, np.float32)).reshape(1, -1) for k, v in params.items()}
    with torch.no_grad():
        return target.vertices(tensors)[0].numpy().astype(np.float64), np.asarray(target.faces, np.int64)
