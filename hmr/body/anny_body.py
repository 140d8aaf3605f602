"""Anny through the ``anny`` package: the open (Apache-2.0, CC0 assets) default body model.

What anny gives: a 13718-vertex mesh driven by 6 phenotype values (gender, age, muscle, weight,
height, proportions) and a 104-bone rig posed by one rigid 4x4 delta per bone. We use anny's
default ``local-ref`` pose parameterization: each bone's delta rotation is about the bone's head,
expressed in world-aligned axes (at the rest pose), relative to its parent.

What this adapter changes, so all our body models share one frame:

* Frame: anny is z-up and faces -y; outputs here are y-up and face +z with the body's left on
  +x (the SMPL / SKEL frame). Pose rotations are given in this frame too.
* Root: the root bone ("root", at the pelvis) sits at the origin; ``global_orient`` rotates the
  whole body about it. The other bones are split into groups (``ANNY_BONE_GROUPS``):
  ``body_pose`` (35 bones: legs, spine, arms, neck, head) is what a network or a fitter drives;
  hands (19 bones each), toes (28) and eyes (2) are separate parameters, identity by default.
* dtype: float32 (anny builds float64) and pure-torch skinning (``lbs``): portable to any device
  and to ONNX; anny's default Warp kernel is neither.
* Joints: the 104 bone heads, then anny's 23 COCO-WholeBody keypoints (COCO 17 + 6 foot points,
  regressed from the vertices), 127 in all; ``coco_joint_indices`` picks the keypoints.
  ``head_joint`` is the head bone's head (base of the skull), ``pelvis_joint`` the root.

The first build of an anny model parses its bundled assets (about 2 minutes on 2 CPU cores) and
caches the result under ``$ANNY_CACHE_DIR`` (default ``~/.cache/anny``); later builds take ~1 s.
"""

from __future__ import annotations

import torch

from hmr.body.base import BodyModel, BodyOutput, ParamSpec
from hmr.body.rotations import as_rotmats, batch_size_of
from hmr.errors import HmrError

#: anny's default rig ("anny"), in its bone order
ANNY_BONE_LABELS = (
    "root",
    "pelvis.L",
    "upperleg01.L",
    "upperleg02.L",
    "lowerleg01.L",
    "lowerleg02.L",
    "foot.L",
    "toe1-1.L",
    "toe1-2.L",
    "toe2-1.L",
    "toe2-2.L",
    "toe2-3.L",
    "toe3-1.L",
    "toe3-2.L",
    "toe3-3.L",
    "toe4-1.L",
    "toe4-2.L",
    "toe4-3.L",
    "toe5-1.L",
    "toe5-2.L",
    "toe5-3.L",
    "pelvis.R",
    "upperleg01.R",
    "upperleg02.R",
    "lowerleg01.R",
    "lowerleg02.R",
    "foot.R",
    "toe1-1.R",
    "toe1-2.R",
    "toe2-1.R",
    "toe2-2.R",
    "toe2-3.R",
    "toe3-1.R",
    "toe3-2.R",
    "toe3-3.R",
    "toe4-1.R",
    "toe4-2.R",
    "toe4-3.R",
    "toe5-1.R",
    "toe5-2.R",
    "toe5-3.R",
    "spine05",
    "spine04",
    "spine03",
    "spine02",
    "spine01",
    "clavicle.L",
    "shoulder01.L",
    "upperarm01.L",
    "upperarm02.L",
    "lowerarm01.L",
    "lowerarm02.L",
    "wrist.L",
    "finger1-1.L",
    "finger1-2.L",
    "finger1-3.L",
    "metacarpal1.L",
    "finger2-1.L",
    "finger2-2.L",
    "finger2-3.L",
    "metacarpal2.L",
    "finger3-1.L",
    "finger3-2.L",
    "finger3-3.L",
    "metacarpal3.L",
    "finger4-1.L",
    "finger4-2.L",
    "finger4-3.L",
    "metacarpal4.L",
    "finger5-1.L",
    "finger5-2.L",
    "finger5-3.L",
    "clavicle.R",
    "shoulder01.R",
    "upperarm01.R",
    "upperarm02.R",
    "lowerarm01.R",
    "lowerarm02.R",
    "wrist.R",
    "finger1-1.R",
    "finger1-2.R",
    "finger1-3.R",
    "metacarpal1.R",
    "finger2-1.R",
    "finger2-2.R",
    "finger2-3.R",
    "metacarpal2.R",
    "finger3-1.R",
    "finger3-2.R",
    "finger3-3.R",
    "metacarpal3.R",
    "finger4-1.R",
    "finger4-2.R",
    "finger4-3.R",
    "metacarpal4.R",
    "finger5-1.R",
    "finger5-2.R",
    "finger5-3.R",
    "neck01",
    "neck02",
    "neck03",
    "head",
    "eye.L",
    "eye.R",
)


def _bone_group(label: str) -> str:
    if label == "root":
        return "root"
    if label.startswith("toe"):
        return "toe_pose"
    if label.startswith("eye"):
        return "eye_pose"
    if label.startswith(("finger", "metacarpal")):
        return "left_hand_pose" if label.endswith(".L") else "right_hand_pose"
    return "body_pose"


#: pose parameter -> the bones it holds, in rig order
ANNY_BONE_GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(b for b in ANNY_BONE_LABELS if _bone_group(b) == group)
    for group in ("body_pose", "left_hand_pose", "right_hand_pose", "toe_pose", "eye_pose")
}

#: phenotype -> (low, high, meaning); the range anny interpolates over (values outside are clamped)
ANNY_PHENOTYPES: dict[str, tuple[float, float, str]] = {
    "gender": (0.0, 1.0, "0 male, 1 female"),
    "age": (-1.0 / 3.0, 1.0, "-1/3 newborn, 0 baby, 1/3 child, 2/3 young adult, 1 old"),
    "muscle": (0.0, 1.0, "0 minimum, 0.5 average, 1 maximum muscle"),
    "weight": (0.0, 1.0, "0 minimum, 0.5 average, 1 maximum weight"),
    "height": (0.0, 1.0, "0 minimum, 1 maximum height"),
    "proportions": (0.0, 1.0, "0 ideal, 1 uncommon proportions"),
}
#: anny's own default phenotype value
ANNY_DEFAULT_PHENOTYPE = 0.5
GENDER_PHENOTYPE = {"neutral": 0.5, "male": 0.0, "female": 1.0}

#: anny frame -> ours: z-up / facing -y  ->  y-up / facing +z, i.e. (x, y, z) -> (x, z, -y)
ANNY_TO_OURS = ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, -1.0, 0.0))


def anny_build_cached() -> bool:
    """Whether anny's cache holds a built model, i.e. whether the next load takes a second, not minutes."""
    from anny.paths import get_anny_cache_path

    return any(get_anny_cache_path().glob("**/build_model_data_*.safetensors"))


def anny_param_specs() -> dict[str, ParamSpec]:
    """Anny parameters, asset-free."""
    rot = "axis-angle, or rotation matrices with trailing (3, 3), in the y-up frame"
    specs = [ParamSpec("global_orient", (3,), "rotvec", doc=f"rotation of the whole body about the root; {rot}")]
    for group, bones in ANNY_BONE_GROUPS.items():
        specs.append(
            ParamSpec(group, (len(bones), 3), "rotvec", doc=f"local rotations of bones {', '.join(bones)}; {rot}")
        )
    for name, (low, high, meaning) in ANNY_PHENOTYPES.items():
        specs.append(ParamSpec(name, (1,), "bounded", low=low, high=high, doc=f"phenotype: {meaning}"))
    return {s.name: s for s in specs}


class AnnyBody(BodyModel):
    """Anny, 13718 vertices, 104 bones; see the module docstring for frame and parameters."""

    name = "anny"
    head_joint = ANNY_BONE_LABELS.index("head")
    pelvis_joint = ANNY_BONE_LABELS.index("root")
    to_ours: torch.Tensor  # buffer registered in __init__

    def __init__(self, gender: str = "neutral", dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        import anny

        if gender not in GENDER_PHENOTYPE:
            raise HmrError(f"Anny gender must be one of {', '.join(GENDER_PHENOTYPE)}, got '{gender}'")
        self.gender = gender
        self.anny = anny.Anny(skinning_method="lbs").to(dtype)
        if tuple(self.anny.bone_labels) != ANNY_BONE_LABELS:
            raise RuntimeError("the installed anny package has another default rig than hmr.body.anny_body expects")
        self.coco = anny.KeypointsRegressor.coco(self.anny)
        self.param_specs = anny_param_specs()
        faces = self.anny.faces if self.anny.faces.shape[1] == 3 else self.anny.get_triangular_faces()
        self.faces = faces.detach().cpu().numpy().astype("int64")
        self.joint_names = list(ANNY_BONE_LABELS) + [f"coco_{label}" for label in self.coco.labels]
        self.coco_joint_indices = list(range(len(ANNY_BONE_LABELS), len(self.joint_names)))
        self.register_buffer("to_ours", torch.tensor(ANNY_TO_OURS, dtype=dtype), persistent=False)
        self._group_index = {g: [ANNY_BONE_LABELS.index(b) for b in bones] for g, bones in ANNY_BONE_GROUPS.items()}

    @property
    def num_vertices(self) -> int:
        return int(self.anny.template_vertices.shape[0])

    def neutral_params(self, batch_size: int = 1) -> dict[str, torch.Tensor]:
        """Identity pose; phenotypes at anny's default 0.5, gender from the ``gender`` chosen at load."""
        params = super().neutral_params(batch_size)
        for name in ANNY_PHENOTYPES:
            params[name] = params[name] + ANNY_DEFAULT_PHENOTYPE
        params["gender"] = torch.full_like(params["gender"], GENDER_PHENOTYPE[self.gender])
        return params

    def forward(self, **params: torch.Tensor) -> BodyOutput:
        """Vertices (B, 13718, 3) and joints (B, 127, 3): 104 bone heads + 23 COCO keypoints."""
        unknown = set(params) - set(self.param_specs)
        if unknown:
            raise ValueError(f"unknown anny parameters {sorted(unknown)}; expected {list(self.param_specs)}")
        batch = batch_size_of(params)
        frame = self.to_ours
        params = {k: v.to(device=frame.device, dtype=frame.dtype) for k, v in params.items()}
        # anny's root stays identity: global_orient is applied to the outputs below
        rot = torch.eye(3, dtype=frame.dtype, device=frame.device).repeat(batch, len(ANNY_BONE_LABELS), 1, 1)
        for group, index in self._group_index.items():
            if group in params:
                # a rotation R in our frame is frame^T R frame in anny's
                rot[:, index] = frame.T @ as_rotmats(params[group], self.param_specs[group]) @ frame
        delta = torch.cat(
            [
                torch.cat([rot, rot.new_zeros((batch, rot.shape[1], 3, 1))], -1),
                rot.new_tensor([0.0, 0.0, 0.0, 1.0]).expand(batch, rot.shape[1], 1, 4),
            ],
            -2,
        )

        defaults = self.neutral_params(1)
        phenotypes = torch.cat(
            [
                params.get(name, defaults[name].expand(batch, 1)).reshape(batch, 1)
                for name in self.anny.phenotype_labels
            ],
            1,
        )
        out = self.anny(pose_parameters=delta, phenotype_kwargs=phenotypes)
        vertices = out["vertices"]
        joints = torch.cat([out["bone_poses"][..., :3, 3], self.coco({"vertices": vertices})], 1)

        to_world = frame
        if "global_orient" in params:
            to_world = as_rotmats(params["global_orient"], self.param_specs["global_orient"])[:, 0] @ frame
        to_world_t = to_world.transpose(-1, -2)
        return BodyOutput(vertices=vertices @ to_world_t, joints=joints @ to_world_t)
