"""Fitting Anny to SMPL / SMPL-X skin without a vertex correspondence (``convert-body --to anny``).

Anny's SMPL-X correspondence files are a separate non-commercial download, and anny's own fitter
(``anny.AnnyInverter``: a rigid registration per bone on the vertices it skins, then
Gauss-Newton steps on the phenotypes) needs a target for every Anny vertex. So the source's
surface has to supply those targets, in three batched stages:

1. Joints, in closed form. The height phenotype is read off the length of the source skeleton
   (hip-knee-ankle, pelvis-neck-head); then, root to leaves, Anny's trunk, neck, clavicles and
   limbs are swung about their heads so that each named Anny joint points at the source joint of
   the same name (hips, knees, ankles, neck, head, shoulders, elbows, wrists), from the source's
   global orientation. Anny leaves its A-pose for the source's pose before any skin is compared.
2. ICP with the inverter. Each round matches every Anny skin vertex to its closest point on the
   source surface and every source vertex to its closest point on the Anny surface (k-d tree,
   then the triangles around the nearest vertices). A vertex's target is the weighted mean of its
   own closest point and of where the source vertices that landed on its triangles want it: the
   minimiser, pairs held fixed, of the symmetric chamfer loss. The inverter fits pose and
   phenotypes to those targets (fast: no gradients); the next round re-matches.
3. Refinement by gradient. The inverter's rigid-per-bone steps do not descend the chamfer loss
   itself, which shows on bodies far from Anny's shapes, so L-BFGS finishes on it (pairs
   re-matched each round) with priors: phenotypes are sigmoids of free logits, so they stay in
   anny's ranges, and pay anny's population prior (``anny.shape_distribution``: height, weight,
   muscle, proportions given age and gender); the body pose pays a small L2 penalty.

Hands, toes and eyes stay at rest. Anny's inner surfaces (mouth, tongue, eye sockets, backs of
the eyes) take no part in matching. The error reported per instance is the symmetric surface
(chamfer) distance: the mean distance from the source vertices to the Anny surface and from the
Anny skin vertices to the source surface, averaged, in mm. Its floor is not zero: Anny has no
SMPL-X betas, and a source far from a human shape stays far.

Labels store ``global_orient`` (3), ``body_pose`` (35 x 3 flat), the six phenotypes (1 each) and
``transl`` (3): ``vertices_cam = load_body_model("anny")(**params without transl).vertices + transl``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from hmr.body import load_body_model
from hmr.body.anny_body import ANNY_BONE_GROUPS, ANNY_BONE_LABELS, ANNY_PHENOTYPES, GENDER_PHENOTYPE
from hmr.geometry import rotmat_to_rotvec, rotvec_to_rotmat

#: SMPL / SMPL-X joint index (the first 22 are shared) -> the Anny bone whose head is that joint
SMPL_JOINT_TO_ANNY_BONE = {
    1: "upperleg01.L",
    2: "upperleg01.R",
    4: "lowerleg01.L",
    5: "lowerleg01.R",
    7: "foot.L",
    8: "foot.R",
    12: "neck01",
    15: "head",
    16: "upperarm01.L",
    17: "upperarm01.R",
    18: "lowerarm01.L",
    19: "lowerarm01.R",
    20: "wrist.L",
    21: "wrist.R",
}
#: swing IK, root to leaves: per level, (Anny bone turned about its head, SMPL joint that the head
#: of the bone mapped to that joint must point at)
SWING_LEVELS = (
    (("spine05", 12), ("upperleg01.L", 4), ("upperleg01.R", 5)),
    (("neck01", 15), ("clavicle.L", 16), ("clavicle.R", 17), ("lowerleg01.L", 7), ("lowerleg01.R", 8)),
    (("upperarm01.L", 18), ("upperarm01.R", 19)),
    (("lowerarm01.L", 20), ("lowerarm01.R", 21)),
)
#: anny surface parts inside the body: they have no counterpart on a source's skin
HIDDEN_PARTS = ("eye_back.L", "eye_back.R", "eye_cavity.L", "eye_cavity.R", "mouth_cavity", "tongue")
#: start values: an adult of the label's gender (anny's own inverter also starts at age 0.8)
START_PHENOTYPES = {"age": 0.8, "muscle": 0.5, "weight": 0.5, "height": 0.5, "proportions": 0.5}
ICP_ROUNDS, INVERTER_ITERS = 4, 2  # closest-point re-matches, inverter iterations in each
REFINE_ROUNDS = 2  # re-matches during the gradient refinement
POSE_PRIOR = 1e-6  # m^2 per rad^2 of body pose
PHENOTYPE_PRIOR = 1e-7  # m^2 per nat of the population prior's negative log-likelihood
ANNY_METHOD = (
    "height from the skeleton and swing IK on named joints, ICP with anny.AnnyInverter on symmetric "
    "closest-point targets, then L-BFGS on the symmetric chamfer distance"
)


class SurfaceQuery:
    """Closest points on a triangle mesh of fixed topology, for any posing of it.

    ``faces`` (F, 3) index the full vertex array; only vertices used by them are searched.
    """

    def __init__(self, faces: np.ndarray, num_vertices: int) -> None:
        import trimesh

        self.faces = np.asarray(faces, np.int64)
        self.vertex_ids = np.unique(self.faces)
        self._vertex_faces = trimesh.Trimesh(np.zeros((num_vertices, 3)), self.faces, process=False).vertex_faces

    def closest(self, verts: np.ndarray, points: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For points (N, 3), their closest points on the mesh posed as verts (V, 3), looked for on the
        triangles around the ``k`` nearest vertices: face (N,), barycentric (N, 3), distance (N,)."""
        import trimesh
        from scipy.spatial import cKDTree

        n = len(points)
        _, near = cKDTree(verts[self.vertex_ids]).query(points, k=[k] if k == 1 else k)
        candidates = np.sort(self._vertex_faces[self.vertex_ids[near]].reshape(n, -1), axis=1)
        candidates[:, 1:][candidates[:, 1:] == candidates[:, :-1]] = -1  # a face around several of the k
        point_ids, slots = np.nonzero(candidates >= 0)
        faces = candidates[point_ids, slots]
        closest = trimesh.triangles.closest_point(verts[self.faces[faces]], points[point_ids])
        dist = np.linalg.norm(closest - points[point_ids], axis=1)
        order = np.lexsort((dist, point_ids))
        best = order[np.r_[True, point_ids[order][1:] != point_ids[order][:-1]]]  # nearest triangle per point
        face = faces[best]
        bary = np.clip(trimesh.triangles.points_to_barycentric(verts[self.faces[face]], closest[best]), 0.0, 1.0)
        return face, bary / bary.sum(1, keepdims=True), dist[best]


def _bone(label: str) -> int:
    return ANNY_BONE_LABELS.index(label)


class AnnyTarget:
    """Anny through ``hmr.body`` (labels, forward, gradients) and ``anny.AnnyInverter`` (ICP).

    Parameters are ``hmr.body``'s, plus ``transl``: ``global_orient`` (B, 3), ``body_pose``
    (B, 105), ``transl`` (B, 3) and one (B, 1) tensor per phenotype. The inverter works in anny's
    own frame and pose layout; ``to_native`` / ``from_native`` convert.
    """

    name = "anny"

    def __init__(self, models_dir: Path | None, gender: str, device: str) -> None:
        import anny
        from anny.face_segmentation import get_face_segmentation_mask
        from anny.shape_distribution import SimpleShapeDistribution

        self.gender, self.device = gender, device
        self.model: Any = load_body_model("anny", gender=gender, device=device)  # AnnyBody
        # Anny has no user-supplied file; the rig data bundled with the package (precomputed bone
        # orientations) stands in for it in manifests: its checksum tells anny releases apart
        self.model_path = Path(anny.__file__).parent / "data" / "cached" / "anny.pth"
        at_rest = [
            b for g in ("left_hand_pose", "right_hand_pose", "toe_pose", "eye_pose") for b in ANNY_BONE_GROUPS[g]
        ]
        self.inverter = anny.AnnyInverter(self.model.anny, identity_bone_labels=at_rest)
        self.population = SimpleShapeDistribution(self.model.anny)
        hidden = get_face_segmentation_mask(self.model.anny, list(HIDDEN_PARTS)).cpu().numpy()
        self.faces = np.asarray(self.model.faces, np.int64)[~hidden]
        self.surface = SurfaceQuery(self.faces, self.model.num_vertices)
        self.frame = torch.as_tensor(self.model.to_ours)  # (3, 3): anny's frame -> ours
        rig: Any = self.model.anny
        self.parents = [int(p) for p in rig.bone_parents]
        self._body = torch.tensor([_bone(b) for b in ANNY_BONE_GROUPS["body_pose"]], device=device)

    def pose(self, params: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Camera-frame vertices (B, V, 3) and joints (B, 127, 3)."""
        out = self.model(
            global_orient=params["global_orient"],
            body_pose=params["body_pose"],
            **{k: params[k] for k in ANNY_PHENOTYPES},
        )
        shift = params["transl"][:, None]
        return out.vertices + shift, out.joints + shift

    def start_params(self, global_orient: np.ndarray, root: torch.Tensor) -> dict[str, torch.Tensor]:
        """Anny at rest, turned as ``global_orient`` (B, 3), root at ``root`` (B, 3), an adult of the gender."""
        n = len(root)
        params = {
            "global_orient": torch.as_tensor(global_orient, dtype=torch.float32).reshape(n, 3),
            "body_pose": torch.zeros(n, 3 * len(ANNY_BONE_GROUPS["body_pose"])),
            "transl": root.float(),
        }
        start = {**START_PHENOTYPES, "gender": GENDER_PHENOTYPE[self.gender]}
        params.update({name: torch.full((n, 1), start[name]) for name in ANNY_PHENOTYPES})
        return {k: v.to(self.device) for k, v in params.items()}

    def world_rotations(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """Each bone's rotation from rest to posed, in our frame (B, 104, 3, 3): the chain of its deltas."""

        n = len(params["transl"])
        delta = torch.eye(3, device=self.device).repeat(n, len(self.parents), 1, 1)
        delta[:, self._body] = rotvec_to_rotmat(params["body_pose"].reshape(n, -1, 3))
        world = [rotvec_to_rotmat(params["global_orient"])]
        for bone in range(1, len(self.parents)):  # parents come first in anny's rig
            world.append(world[self.parents[bone]] @ delta[:, bone])
        return torch.stack(world, 1)

    def to_native(self, params: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Anny's ``local-ref`` pose (B, 104, 4, 4), root included, and phenotypes {name: (B,)}."""

        F, n = self.frame, len(params["transl"])
        pose = torch.eye(4, device=self.device).repeat(n, len(self.parents), 1, 1)
        pose[:, self._body, :3, :3] = F.T @ rotvec_to_rotmat(params["body_pose"].reshape(n, -1, 3)) @ F
        pose[:, 0, :3, :3] = F.T @ rotvec_to_rotmat(params["global_orient"]) @ F
        pose[:, 0, :3, 3] = params["transl"] @ F
        return pose, {k: params[k][:, 0] for k in ANNY_PHENOTYPES}

    def from_native(self, pose: torch.Tensor, phenotypes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:

        F, n = self.frame, len(pose)
        rot = F @ pose[..., :3, :3] @ F.T
        return {
            "global_orient": rotmat_to_rotvec(rot[:, 0]),
            "body_pose": rotmat_to_rotvec(rot[:, self._body]).reshape(n, -1),
            "transl": pose[:, 0, :3, 3] @ F.T,
            **{k: phenotypes[k].reshape(n, 1) for k in ANNY_PHENOTYPES},
        }

    def label_params(self, params: dict[str, torch.Tensor], i: int) -> dict[str, np.ndarray]:
        return {
            k: params[k][i].detach().cpu().numpy() for k in ("global_orient", "body_pose", "transl", *ANNY_PHENOTYPES)
        }


_SMPL_SKELETON = {"hipL": 1, "hipR": 2, "kneeL": 4, "kneeR": 5, "ankleL": 7, "ankleR": 8, "neck": 12, "head": 15}
_ANNY_SKELETON = {name: _bone(SMPL_JOINT_TO_ANNY_BONE[i]) for name, i in _SMPL_SKELETON.items()}


def _skeleton_length(joints: torch.Tensor, index: dict[str, int]) -> torch.Tensor:
    """Hip-knee-ankle (mean of both legs) plus pelvis-neck-head length of joints (B, J, 3): (B,)."""
    j = {name: joints[:, i] for name, i in index.items()}
    legs = (
        sum((j[f"hip{s}"] - j[f"knee{s}"]).norm(dim=-1) + (j[f"knee{s}"] - j[f"ankle{s}"]).norm(dim=-1) for s in "LR")
        / 2
    )
    pelvis = (j["hipL"] + j["hipR"]) / 2
    return legs + (pelvis - j["neck"]).norm(dim=-1) + (j["neck"] - j["head"]).norm(dim=-1)


@torch.no_grad()
def height_from_skeleton(target: AnnyTarget, source_joints: torch.Tensor, probes: int = 6) -> torch.Tensor:
    """The height phenotype (B,) whose rest skeleton is as long as the source's (linear between probes)."""
    heights = torch.linspace(0.0, 1.0, probes, device=target.device)
    params = target.start_params(np.zeros((probes, 3)), torch.zeros(probes, 3))
    params["height"] = heights[:, None]
    lengths = _skeleton_length(target.pose(params)[1], _ANNY_SKELETON).cpu().numpy()
    wanted = _skeleton_length(source_joints, _SMPL_SKELETON).cpu().numpy()
    return torch.as_tensor(np.interp(wanted, lengths, heights.cpu().numpy()), dtype=torch.float32)


def _swing(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The smallest rotations (B, 3, 3) turning directions u (B, 3) onto v (B, 3)."""

    u, v = u / u.norm(dim=-1, keepdim=True), v / v.norm(dim=-1, keepdim=True)
    axis = torch.cross(u, v, dim=-1)
    sin = axis.norm(dim=-1, keepdim=True)
    return rotvec_to_rotmat(axis / sin.clamp_min(1e-9) * torch.atan2(sin, (u * v).sum(-1, keepdim=True)))


@torch.no_grad()
def swing_to_joints(target: AnnyTarget, params: dict[str, torch.Tensor], source_joints: torch.Tensor) -> None:
    """Turn the SWING_LEVELS bones, level by level, so each aims its child joint at the source's (in place)."""

    n = len(source_joints)
    for level in SWING_LEVELS:
        joints = target.pose(params)[1]
        world = target.world_rotations(params)
        body_pose = params["body_pose"].reshape(n, -1, 3).clone()
        for bone, smpl_joint in level:
            b, child = _bone(bone), _bone(SMPL_JOINT_TO_ANNY_BONE[smpl_joint])
            turn = _swing(joints[:, child] - joints[:, b], source_joints[:, smpl_joint] - joints[:, b])
            parent = world[:, target.parents[b]]
            slot = ANNY_BONE_GROUPS["body_pose"].index(bone)
            # the bone's world rotation becomes turn @ world[b] = parent @ (parent^T turn parent delta)
            delta = parent.transpose(-1, -2) @ turn @ parent @ rotvec_to_rotmat(body_pose[:, slot])
            body_pose[:, slot] = rotmat_to_rotvec(delta)
        params["body_pose"] = body_pose.reshape(n, -1)


def _icp_goals(
    target: AnnyTarget, source: SurfaceQuery, source_verts: np.ndarray, anny_verts: np.ndarray
) -> np.ndarray:
    """A target for every Anny vertex (B, V, 3): with the pairs held fixed, the minimiser of its share
    of the symmetric chamfer loss. That share is its own closest point on the source (weight
    1 / skin vertices) and, for each source vertex whose closest Anny point lies on its triangles,
    its position moved by that source vertex's residual (weight barycentric / source vertices).
    Hidden vertices keep their place."""
    skin = target.surface.vertex_ids
    own = np.zeros(anny_verts.shape[1])
    own[skin] = 1.0 / len(skin)
    goals = []
    for src, ann in zip(source_verts, anny_verts):
        face, bary, _ = target.surface.closest(ann, src)
        tri = target.faces[face].ravel()
        residual = np.repeat(src - (ann[target.faces[face]] * bary[..., None]).sum(1), 3, axis=0)  # (3 Vs, 3)
        weight = bary.ravel() / len(src)
        pulled = np.bincount(tri, weight, minlength=len(ann))
        push = np.stack([np.bincount(tri, weight * residual[:, c], minlength=len(ann)) for c in range(3)], 1)
        face, bary, _ = source.closest(src, ann[skin])
        toward = np.zeros_like(ann)
        toward[skin] = (src[source.faces[face]] * bary[..., None]).sum(1) - ann[skin]
        total = own + pulled
        goals.append(ann + (own[:, None] * toward + push) / np.where(total > 0, total, 1.0)[:, None])
    return np.stack(goals)


@torch.no_grad()
def _icp_with_inverter(
    target: AnnyTarget, params: dict[str, torch.Tensor], source: SurfaceQuery, source_verts: np.ndarray
) -> dict[str, torch.Tensor]:
    anny = target.model.anny
    for _ in range(ICP_ROUNDS):
        goals_ours = _icp_goals(target, source, source_verts, target.pose(params)[0].cpu().numpy())
        goals = torch.as_tensor(goals_ours, dtype=torch.float32, device=target.device) @ target.frame  # anny's frame
        pose, phenotypes = target.to_native(params)
        pose[:, 0] = torch.eye(4, device=target.device)  # the inverter registers the root itself
        start = anny.get_pose_parameterization(anny(pose_parameters=pose, phenotype_kwargs=phenotypes), "local-bone")
        pose, phenotypes, _ = target.inverter(
            goals[:, target.inverter.unique_ids],
            initial_phenotype_kwargs=phenotypes,
            initial_pose_parameters=start,
            max_n_iters=INVERTER_ITERS,
        )
        params = target.from_native(pose, phenotypes)
    return params


def _population_nll(population, phenotypes: dict[str, torch.Tensor]) -> torch.Tensor:
    """(B,) negative log-likelihood of height, weight, muscle and proportions under anny's population
    model given age, its male and female parts mixed by the gender phenotype."""
    age, gender = phenotypes["age"][:, 0], phenotypes["gender"][:, 0].clamp(1e-4, 1 - 1e-4)
    nll = torch.zeros_like(age)
    for name in ("height", "weight", "muscle", "proportions"):
        value = phenotypes[name][:, 0].clamp(1e-4, 1 - 1e-4)
        male = getattr(population, f"boys_conditional_{name}_distribution").get_torch_distribution(age)
        female = getattr(population, f"girls_conditional_{name}_distribution").get_torch_distribution(age)
        nll = nll - torch.logaddexp(
            torch.log1p(-gender) + male.log_prob(value), torch.log(gender) + female.log_prob(value)
        )
    return nll


def _refine_on_chamfer(
    target: AnnyTarget, params: dict[str, torch.Tensor], source: SurfaceQuery, source_verts: np.ndarray, steps: int
) -> dict[str, torch.Tensor]:
    """``steps`` L-BFGS iterations on the symmetric chamfer loss plus priors, over REFINE_ROUNDS re-matches."""
    dev = target.device
    bounds = {k: (low, high) for k, (low, high, _) in ANNY_PHENOTYPES.items()}
    free = {k: params[k].clone() for k in ("global_orient", "body_pose", "transl")}
    for k, (low, high) in bounds.items():
        x = ((params[k] - low) / (high - low)).clamp(1e-3, 1 - 1e-3)
        free[k] = torch.log(x) - torch.log1p(-x)

    def current() -> dict[str, torch.Tensor]:
        out = {k: free[k] for k in ("global_orient", "body_pose", "transl")}
        out.update({k: low + (high - low) * torch.sigmoid(free[k]) for k, (low, high) in bounds.items()})
        return out

    src_v = torch.as_tensor(source_verts, dtype=torch.float32, device=dev)
    skin = torch.as_tensor(target.surface.vertex_ids, device=dev)
    batch = torch.arange(len(source_verts), device=dev)[:, None, None]
    for _ in range(REFINE_ROUNDS):
        tri_list: list[np.ndarray] = []
        bary_list: list[np.ndarray] = []
        point_list: list[np.ndarray] = []
        with torch.no_grad():
            anny_verts = target.pose(current())[0].cpu().numpy()
        for src, ann in zip(source_verts, anny_verts):
            face, w, _ = target.surface.closest(ann, src)
            tri_list.append(target.faces[face])
            bary_list.append(w)
            face, w, _ = source.closest(src, ann[target.surface.vertex_ids])
            point_list.append((src[source.faces[face]] * w[..., None]).sum(1))
        tris = torch.as_tensor(np.stack(tri_list), device=dev)
        bary = torch.as_tensor(np.stack(bary_list), dtype=torch.float32, device=dev)
        points = torch.as_tensor(np.stack(point_list), dtype=torch.float32, device=dev)
        tensors = [t.requires_grad_(True) for t in free.values()]
        opt = torch.optim.LBFGS(
            tensors,
            lr=1.0,
            max_iter=max(1, steps // REFINE_ROUNDS),
            history_size=20,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-12,
            tolerance_change=1e-15,
        )

        # the closure reads this round's tensors; L-BFGS calls it only inside opt.step below
        def closure() -> torch.Tensor:
            opt.zero_grad()  # noqa: B023
            p = current()
            verts = target.pose(p)[0]
            on_anny = (verts[batch, tris] * bary[..., None]).sum(2)  # noqa: B023  (B, Vs, 3)
            chamfer = ((on_anny - src_v) ** 2).sum(-1).mean(1) + ((verts[:, skin] - points) ** 2).sum(-1).mean(1)  # noqa: B023
            prior = POSE_PRIOR * (p["body_pose"] ** 2).sum(-1) + PHENOTYPE_PRIOR * _population_nll(target.population, p)
            loss = (0.5 * chamfer + prior).sum()  # instances are independent: their sum has their gradients
            loss.backward()
            return loss

        opt.step(closure)
        for t in tensors:
            t.requires_grad_(False)
    return current()


def surface_distance(
    target: AnnyTarget, source: SurfaceQuery, source_verts: np.ndarray, anny_verts: np.ndarray
) -> np.ndarray:
    """Symmetric surface (chamfer) distance (B,) in metres between source and Anny meshes (B, V, 3)."""
    out = []
    for src, ann in zip(source_verts, anny_verts):
        to_anny = target.surface.closest(ann, src, k=3)[2]
        to_source = source.closest(src, ann[target.surface.vertex_ids], k=3)[2]
        out.append(0.5 * (to_anny.mean() + to_source.mean()))
    return np.asarray(out)


def fit_anny(
    target: AnnyTarget,
    source_verts: np.ndarray,
    source_faces: np.ndarray,
    source_joints: np.ndarray,
    global_orient: np.ndarray,
    iters: int = 60,
) -> tuple[dict[str, torch.Tensor], np.ndarray]:
    """Fit Anny to camera-frame source meshes: vertices (B, V, 3), faces (F, 3), SMPL joints (B, >=22, 3).

    ``global_orient`` (B, 3) is the source's (SMPL and Anny share their rest frame). ``iters``
    L-BFGS iterations go to the refinement (0: stop after the ICP). Returns the parameters and
    the per-instance symmetric surface distance in mm (B,), inf where the fit broke down.
    """
    source = SurfaceQuery(source_faces, source_verts.shape[1])
    joints = torch.as_tensor(source_joints, dtype=torch.float32, device=target.device)
    params = target.start_params(global_orient, (joints[:, 1] + joints[:, 2]) / 2)
    params["height"] = height_from_skeleton(target, joints)[:, None].to(target.device)
    swing_to_joints(target, params, joints)
    params = _icp_with_inverter(target, params, source, source_verts)
    if iters > 0:
        params = _refine_on_chamfer(target, params, source, source_verts, iters)
    params = {k: v.detach() for k, v in params.items()}
    broken = ~torch.stack([torch.isfinite(v).all(-1) for v in params.values()]).all(0)
    if broken.any():  # keep labels writable: the start pose, reported as failed below
        start = target.start_params(global_orient, (joints[:, 1] + joints[:, 2]) / 2)
        params = {k: torch.where(broken[:, None], start[k], v) for k, v in params.items()}
    with torch.no_grad():
        err_m = surface_distance(target, source, source_verts, target.pose(params)[0].cpu().numpy())
    err_m[broken.cpu().numpy() | ~np.isfinite(err_m)] = np.inf
    return params, err_m * 1000.0
