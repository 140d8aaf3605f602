"""What the fitter optimizes for each body model, and how that becomes the model's parameters.

A :class:`FitBody` turns a dict of free tensors into keypoints in the body's own frame (global
rotation and translation left to the fitter), prices them with a prior, and writes them back as
the body model's named parameters. Anny gets a reduced, anatomical parameterization and the fast
keypoint forward of :mod:`hmr.fit.anny_keypoints`; SMPL-X, SMPL and SKEL go through their full
forward with every pose parameter free.
"""

from __future__ import annotations

import math
from typing import cast

import torch

from hmr.body.anny_body import (
    ANNY_BONE_GROUPS,
    ANNY_BONE_LABELS,
    ANNY_PHENOTYPES,
    AnnyBody,
)
from hmr.body.base import BodyModel
from hmr.body.skel_dofs import BALL_JOINT_DOFS, ball_rotmats_to_dofs
from hmr.fit.anny_keypoints import AnnyKeypointModel
from hmr.fit.limb_init import Limb, limb_rotations
from hmr.fit.priors import JointPrior, bounded_prior_cost, hinge_axis, joint_prior_cost
from hmr.geometry import rotmat_to_rotvec, rotvec_to_rotmat

HANDS = ("left_hand_pose", "right_hand_pose")


class FitBody(torch.nn.Module):
    """Interface the fitter relies on; see the module docstring."""

    keypoint_names: list[str]
    #: variables the second fitting stage frees in addition to the pose
    shape_keys: list[str]

    def pose_keys(self, hands: bool) -> list[str]:
        """Variables the pose stage optimizes (finger variables only when ``hands`` are observed)."""
        raise NotImplementedError

    def init_variables(self, batch: int, params: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Free tensors at the neutral body, or as close as possible to body-model ``params``."""
        raise NotImplementedError

    def keypoints(self, variables: dict[str, torch.Tensor], hands: bool) -> torch.Tensor:
        """(B, K, 3) keypoints named ``keypoint_names``, body frame, no global rotation."""
        raise NotImplementedError

    def prior(self, variables: dict[str, torch.Tensor], hands: torch.Tensor) -> torch.Tensor:
        """(B,) prior cost; ``hands`` (B, 2) says which hands are observed (their fingers may move)."""
        raise NotImplementedError

    def pose_from_landmarks(
        self, variables: dict[str, torch.Tensor], rest: torch.Tensor, observed: torch.Tensor, names: list[str]
    ) -> dict[str, torch.Tensor]:
        """Variables with a starting pose read off metric landmarks (B, M, 3), body frame, named
        ``names``; ``rest``: (M, 3) the same keypoints at rest. Default: unchanged."""
        return variables

    def shape_prior(self, variables: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B,) shape prior cost."""
        raise NotImplementedError

    def to_params(self, variables: dict[str, torch.Tensor], global_rotmat: torch.Tensor) -> dict[str, torch.Tensor]:
        """The body model's named parameters, ``global_rotmat`` (B, 3, 3) folded in."""
        raise NotImplementedError

    def posed(
        self, variables: dict[str, torch.Tensor], rotmat: torch.Tensor, transl: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Camera-frame vertices (B, V, 3) and joints (B, J, 3) in the body model's joint order:
        ``body(**to_params(...))`` moved so that its keypoints sit where the fit put them."""
        raise NotImplementedError


class AnnyFitBody(FitBody):
    """Anny with the joints a body-keypoint detector can see (see ``_free_joints``).

    Spine, neck and the paired segments of anny's rig are driven together: the lower and upper
    spine and the neck each share one rotation over their bones; the secondary (twist) bones of
    thigh, shin and upper arm and the pelvis / shoulder helpers stay at rest or at the pose a
    network gave. Fingers move only for observed hands; toes and eyes stay as given.
    """

    #: phenotype prior (mean, sigma): an adult of average build. Keypoints fix a body's size only
    #: up to its distance, so this prior is what sets depth: age 0.75 is an adult (anny's young
    #: adult anchor is 2/3) and height 0.38 makes that adult 1.70 m tall at neutral gender
    #: (1.77 m male, 1.64 m female); anny's default 0.5 would be 1.84 m.
    PHENOTYPE_PRIOR = {
        "gender": (0.5, 0.5),
        "age": (0.75, 0.1),
        "muscle": (0.5, 0.3),
        "weight": (0.5, 0.25),
        "height": (0.38, 0.1),
        "proportions": (0.5, 0.3),
    }

    # buffers registered in __init__
    spread: torch.Tensor
    pheno_low: torch.Tensor
    pheno_span: torch.Tensor
    pheno_mean: torch.Tensor
    pheno_sigma: torch.Tensor

    def __init__(self, body: AnnyBody) -> None:
        super().__init__()
        self.body = body
        self.fast = AnnyKeypointModel(body)
        self.keypoint_names = list(self.fast.keypoint_names) + list(ANNY_BONE_LABELS)
        self.phenotype_labels = self.fast.phenotype_labels
        self.shape_keys = ["shape"]
        with torch.no_grad():
            heads = body(**body.neutral_params(1)).joints[0, : len(ANNY_BONE_LABELS)]
        self.joints, self.joint_priors = self._free_joints(heads)
        body_bones = ANNY_BONE_GROUPS["body_pose"]
        # (bone index in body_pose, joint index, share count) for every bone a free joint drives
        self._drives = [
            (body_bones.index(bone), j, len(bones)) for j, (_, bones) in enumerate(self.joints) for bone in bones
        ]
        spread = torch.zeros((len(body_bones), len(self.joints)))
        for bone, j, count in self._drives:
            spread[bone, j] = 1.0 / count
        self.register_buffer("spread", spread, persistent=False)  # (35, J): body_pose = base + spread @ joints
        self.hand_priors = {g: self._hand_priors(heads, list(body.anny.bone_parents), g) for g in HANDS}
        low = torch.tensor([ANNY_PHENOTYPES[n][0] for n in self.phenotype_labels])
        high = torch.tensor([ANNY_PHENOTYPES[n][1] for n in self.phenotype_labels])
        self.register_buffer("pheno_low", low, persistent=False)
        self.register_buffer("pheno_span", high - low, persistent=False)
        prior = torch.tensor([self.PHENOTYPE_PRIOR[n] for n in self.phenotype_labels])
        self.register_buffer("pheno_mean", prior[:, 0], persistent=False)
        self.register_buffer("pheno_sigma", prior[:, 1], persistent=False)

    @staticmethod
    def _free_joints(heads: torch.Tensor) -> tuple[list[tuple[str, tuple[str, ...]]], list[JointPrior]]:
        def head(bone: str) -> torch.Tensor:
            return heads[ANNY_BONE_LABELS.index(bone)]

        def direction(a: str, b: str) -> tuple[float, ...]:
            d = head(b) - head(a)
            return tuple(float(x) for x in d / d.norm())

        up = (0.0, 1.0, 0.0)
        joints: list[tuple[str, tuple[str, ...]]] = [
            ("spine_lower", ("spine05", "spine04", "spine03")),
            ("spine_upper", ("spine02", "spine01")),
            ("neck", ("neck01", "neck02", "neck03")),
            ("head", ("head",)),
        ]
        priors = [
            JointPrior(up, 0.25, 0.35),
            JointPrior(up, 0.25, 0.35),
            JointPrior(up, 0.5, 0.4),
            JointPrior(up, 0.6, 0.5),
        ]
        lateral = torch.tensor([1.0, 0.0, 0.0])
        for s in ("L", "R"):
            elbow_axis, elbow_rest = hinge_axis(
                head(f"lowerarm01.{s}") - head(f"upperarm01.{s}"), head(f"wrist.{s}") - head(f"lowerarm01.{s}"), lateral
            )
            knee_axis, knee_rest = hinge_axis(
                head(f"lowerleg01.{s}") - head(f"upperleg01.{s}"), head(f"foot.{s}") - head(f"lowerleg01.{s}"), lateral
            )
            if knee_axis[0] < 0:  # a knee folds the shin backwards: positive about +x
                knee_axis = tuple(-a for a in knee_axis)
            joints += [
                (f"clavicle.{s}", (f"clavicle.{s}",)),
                (f"shoulder.{s}", (f"upperarm01.{s}",)),
                (f"elbow.{s}", (f"lowerarm01.{s}",)),
                (f"forearm.{s}", (f"lowerarm02.{s}",)),
                (f"wrist.{s}", (f"wrist.{s}",)),
                (f"hip.{s}", (f"upperleg01.{s}",)),
                (f"knee.{s}", (f"lowerleg01.{s}",)),
                (f"ankle.{s}", (f"foot.{s}",)),
            ]
            priors += [
                JointPrior(direction(f"clavicle.{s}", f"shoulder01.{s}"), 0.15, 0.2),
                JointPrior(direction(f"upperarm01.{s}", f"lowerarm01.{s}"), 0.7, 1.4),
                JointPrior(elbow_axis, 1.5, 0.15, (-elbow_rest, math.radians(150) - elbow_rest)),
                JointPrior(direction(f"lowerarm02.{s}", f"wrist.{s}"), 0.6, 0.05),
                JointPrior(direction(f"lowerarm02.{s}", f"wrist.{s}"), 0.3, 0.6),
                JointPrior(direction(f"upperleg01.{s}", f"lowerleg01.{s}"), 0.4, 1.2),
                JointPrior(knee_axis, 1.5, 0.1, (-knee_rest - 0.05, math.radians(150) - knee_rest)),
                JointPrior(direction(f"lowerleg01.{s}", f"foot.{s}"), 0.3, 0.5),
            ]
        return joints, priors

    @staticmethod
    def _hand_priors(heads: torch.Tensor, parents: list[int], group: str) -> list[JointPrior]:
        priors = []
        for bone in ANNY_BONE_GROUPS[group]:
            b = ANNY_BONE_LABELS.index(bone)
            children = [i for i, p in enumerate(parents) if p == b]
            # a finger bone twists about itself: towards its child, or along its parent for the last one
            d = heads[children[0]] - heads[b] if children else heads[b] - heads[parents[b]]
            axis = tuple(float(x) for x in d / d.norm().clamp_min(1e-6))
            sigma = (0.1, 0.1) if bone.startswith("metacarpal") else (0.25, 0.7)
            priors.append(JointPrior(axis, *sigma))
        return priors

    def init_variables(self, batch: int, params: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        dtype = self.pheno_low.dtype
        n_body = len(ANNY_BONE_GROUPS["body_pose"])
        base = torch.zeros((batch, n_body, 3), dtype=dtype)
        joints = torch.zeros((batch, len(self.joints), 3), dtype=dtype)
        hands = torch.zeros((batch, 2, len(ANNY_BONE_GROUPS[HANDS[0]]), 3), dtype=dtype)
        toes = torch.zeros((batch, len(ANNY_BONE_GROUPS["toe_pose"]), 3), dtype=dtype)
        eyes = torch.zeros((batch, len(ANNY_BONE_GROUPS["eye_pose"]), 3), dtype=dtype)
        pheno = self.pheno_mean.expand(batch, -1).clone()
        if params is not None:
            base = rotmat_to_rotvec(self.fast.rotmats_from_params({"body_pose": params["body_pose"]})["body_pose"])
            # the free joints take over the bones they drive: the chain's summed rotation
            for bone, j, _ in self._drives:
                joints[:, j] += base[:, bone]
                base[:, bone] = 0.0
            given = {g: rotmat_to_rotvec(m) for g, m in self.fast.rotmats_from_params(params).items()}
            for i, g in enumerate(HANDS):
                hands[:, i] = given.get(g, hands[:, i])
            toes = given.get("toe_pose", toes)
            eyes = given.get("eye_pose", eyes)
            pheno = torch.cat([params[n].reshape(batch, 1) for n in self.phenotype_labels], 1).to(dtype)
        unit = ((pheno - self.pheno_low) / self.pheno_span).clamp(1e-3, 1 - 1e-3)
        return {"base": base, "joints": joints, "hands": hands, "toes": toes, "eyes": eyes, "shape": torch.logit(unit)}

    def pose_keys(self, hands: bool) -> list[str]:
        return ["joints", "hands"] if hands else ["joints"]

    def pose_from_landmarks(
        self, variables: dict[str, torch.Tensor], rest: torch.Tensor, observed: torch.Tensor, names: list[str]
    ) -> dict[str, torch.Tensor]:
        joint_names = [name for name, _ in self.joints]
        limbs, axes = [], []
        for side, s in (("left", "L"), ("right", "R")):
            for a, b, c, ball, hinge in (
                ("shoulder", "elbow", "wrist", "shoulder", "elbow"),
                ("hip", "knee", "ankle", "hip", "knee"),
            ):
                limbs.append(
                    Limb(
                        names.index(f"{side}_{a}"),
                        names.index(f"{side}_{b}"),
                        names.index(f"{side}_{c}"),
                        joint_names.index(f"{ball}.{s}"),
                        joint_names.index(f"{hinge}.{s}"),
                    )
                )
                axes.append(self.joint_priors[limbs[-1].hinge_joint].axis)
        joints = limb_rotations(rest, observed, rest.new_tensor(axes), limbs, len(self.joints))
        return {**variables, "joints": variables["joints"] + joints}

    def phenotypes(self, variables: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, 6) phenotype values in their ranges."""
        return self.pheno_low + self.pheno_span * torch.sigmoid(variables["shape"])

    def body_rotvecs(self, variables: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, 35, 3) body_pose rotvecs: the fixed base plus each free joint spread over its bones."""
        return variables["base"] + torch.einsum("nj,bjd->bnd", self.spread, variables["joints"])

    def keypoints(self, variables: dict[str, torch.Tensor], hands: bool) -> torch.Tensor:
        keypoints, heads = self.fast(self._rotmats(variables, hands), self.phenotypes(variables))
        return torch.cat([keypoints, heads], 1)

    def _rotmats(self, variables: dict[str, torch.Tensor], hands: bool) -> dict[str, torch.Tensor]:
        rotmats = {
            "body_pose": rotvec_to_rotmat(self.body_rotvecs(variables)),
            "toe_pose": rotvec_to_rotmat(variables["toes"]),
        }
        if hands:
            for i, g in enumerate(HANDS):
                rotmats[g] = rotvec_to_rotmat(variables["hands"][:, i])
        return rotmats

    @torch.no_grad()
    def posed(
        self, variables: dict[str, torch.Tensor], rotmat: torch.Tensor, transl: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        rotmats = self._rotmats(variables, hands=True)
        phenotypes = self.phenotypes(variables)
        keypoints, heads = self.fast(rotmats, phenotypes)
        n_coco = len(self.body.coco.labels)
        joints = torch.cat([heads, keypoints[:, :n_coco]], 1)  # AnnyBody's order: bone heads, then COCO
        vertices = self.fast.vertices(rotmats, phenotypes)
        to_cam = rotmat.transpose(1, 2)
        return vertices @ to_cam + transl[:, None], joints @ to_cam + transl[:, None]

    def prior(self, variables: dict[str, torch.Tensor], hands: torch.Tensor) -> torch.Tensor:
        cost = joint_prior_cost(variables["joints"], self.joint_priors)
        for i, g in enumerate(HANDS):
            cost = cost + hands[:, i] * joint_prior_cost(variables["hands"][:, i], self.hand_priors[g])
        return cost

    def shape_prior(self, variables: dict[str, torch.Tensor]) -> torch.Tensor:
        return bounded_prior_cost(self.phenotypes(variables), self.pheno_mean, self.pheno_sigma)

    def to_params(self, variables: dict[str, torch.Tensor], global_rotmat: torch.Tensor) -> dict[str, torch.Tensor]:
        params = {"global_orient": rotmat_to_rotvec(global_rotmat), "body_pose": self.body_rotvecs(variables)}
        for i, g in enumerate(HANDS):
            params[g] = variables["hands"][:, i].clone()
        params["toe_pose"] = variables["toes"].clone()
        params["eye_pose"] = variables["eyes"].clone()
        pheno = self.phenotypes(variables)
        for i, name in enumerate(self.phenotype_labels):
            params[name] = pheno[:, i : i + 1]
        return params


class GenericFitBody(FitBody):
    """Any other body model through its full forward: every rotation / angle parameter free with
    a quadratic prior, real shape coefficients with a unit Gaussian prior. The global orientation
    parameter (``global_orient``, or SKEL's pelvis angles) stays neutral while fitting and the
    fitter's rotation is folded into it at the end."""

    POSE_SIGMA = 0.6
    HAND_SIGMA = 0.5

    def __init__(self, body: BodyModel) -> None:
        super().__init__()
        self.body = body
        self.keypoint_names = list(body.joint_names)
        self.pose_names = [
            n
            for n, s in body.param_specs.items()
            if s.kind in ("rotvec", "angle") and n not in ("global_orient", "jaw_pose")
        ]
        self.shape_keys = [n for n, s in body.param_specs.items() if s.kind == "real" and n != "expression"]
        self.is_skel = body.name == "skel"

    def init_variables(self, batch: int, params: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        neutral = self.body.neutral_params(batch)
        source = params if params is not None else neutral
        variables = {}
        # every parameter but the global one; those the stages do not free (jaw, expression) ride along
        for name, spec in self.body.param_specs.items():
            if name == "global_orient":
                continue
            value = source.get(name, neutral[name])
            if spec.kind == "rotvec" and value.shape[-2:] == (3, 3):
                value = rotmat_to_rotvec(value)
            variables[name] = value.reshape(batch, *spec.shape).float().clone()
        if self.is_skel:
            variables["poses"][:, :3] = 0.0  # pelvis = global, held by the fitter
        return variables

    def pose_keys(self, hands: bool) -> list[str]:
        return [n for n in self.pose_names if hands or n not in HANDS]

    def _forward_params(self, variables: dict[str, torch.Tensor], hands: bool) -> dict[str, torch.Tensor]:
        params = dict(variables)
        if self.is_skel:  # the pelvis angles are the fitter's global rotation: no effect while fitting
            params["poses"] = torch.cat([params["poses"][:, :3].detach() * 0.0, params["poses"][:, 3:]], 1)
        if not hands:
            for g in HANDS:
                if g in params:
                    params[g] = params[g].detach() * 0.0
        return params

    def keypoints(self, variables: dict[str, torch.Tensor], hands: bool) -> torch.Tensor:
        return self.body(**self._forward_params(variables, hands)).joints.float()

    def prior(self, variables: dict[str, torch.Tensor], hands: torch.Tensor) -> torch.Tensor:
        cost: torch.Tensor | float = 0.0
        for name in self.pose_names:
            value = variables[name].flatten(1)
            if name in HANDS:
                cost = cost + hands[:, HANDS.index(name)] * (value / self.HAND_SIGMA).square().sum(1)
            else:
                cost = cost + (value / self.POSE_SIGMA).square().sum(1)
        return cast(torch.Tensor, cost)  # a tensor: every body model has pose parameters

    def shape_prior(self, variables: dict[str, torch.Tensor]) -> torch.Tensor:
        # a tensor: every body model has shape coefficients (sum() of nothing would be 0)
        return cast(torch.Tensor, sum(variables[n].flatten(1).square().sum(1) for n in self.shape_keys))

    def to_params(self, variables: dict[str, torch.Tensor], global_rotmat: torch.Tensor) -> dict[str, torch.Tensor]:
        params = {n: v.detach().clone() for n, v in variables.items()}
        if self.is_skel:
            ball = torch.eye(3, dtype=global_rotmat.dtype).repeat(global_rotmat.shape[0], len(BALL_JOINT_DOFS), 1, 1)
            ball[:, 0] = global_rotmat
            params["poses"][:, list(BALL_JOINT_DOFS[0])] = ball_rotmats_to_dofs(ball)[:, 0].to(params["poses"].dtype)
        else:
            params["global_orient"] = rotmat_to_rotvec(global_rotmat)
        return params

    @torch.no_grad()
    def posed(
        self, variables: dict[str, torch.Tensor], rotmat: torch.Tensor, transl: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.body(**self.to_params(variables, rotmat))
        fitted = self.keypoints(variables, hands=True) @ rotmat.transpose(1, 2) + transl[:, None]
        # the model turns about its own root, the fit about the origin: the two differ by a shift
        offset = (fitted - out.joints.float()).mean(1, keepdim=True)
        return out.vertices.float() + offset, out.joints.float() + offset


def make_fit_body(body: BodyModel) -> FitBody:
    """The fit parameterization for ``body``."""
    return AnnyFitBody(body) if isinstance(body, AnnyBody) else GenericFitBody(body)
