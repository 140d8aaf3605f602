"""SKEL through the ``body-models`` package (torch backend).

body-models reads ``skel_{male,female}.pkl`` itself; we hand it the file found by
:mod:`hmr.body.assets`, so its own config file and downloader are never used. The pose is SKEL's
46-vector of joint angles (see :mod:`hmr.body.skel_dofs` for what each one is); DoF 0..2 are
the pelvis, i.e. the global orientation. Outputs are in SKEL's (= SMPL's) frame: y up, facing +z.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from hmr.body.base import BodyModel, BodyOutput, ParamSpec
from hmr.body.rotations import batch_size_of
from hmr.body.skel_dofs import SKEL_JOINT_NAMES, SKEL_NUM_DOFS

SKEL_NUM_BETAS = 10


def skel_param_specs() -> dict[str, ParamSpec]:
    """SKEL parameters, asset-free."""
    specs = [
        ParamSpec(
            "poses",
            (SKEL_NUM_DOFS,),
            "angle",
            doc="46 joint angles (radians), see hmr.body.skel_dofs.SKEL_DOFS; 0..2 = pelvis/global",
        ),
        ParamSpec("betas", (SKEL_NUM_BETAS,), "real", doc="shape coefficients (SMPL's shape space)"),
    ]
    return {s.name: s for s in specs}


class SkelBody(BodyModel):
    """SKEL (male / female): skin mesh (6890 vertices) and the 24 anatomical joint centres."""

    name = "skel"
    head_joint = SKEL_JOINT_NAMES.index("head")
    pelvis_joint = SKEL_JOINT_NAMES.index("pelvis")

    def __init__(self, model_path: str | os.PathLike, gender: str = "male") -> None:
        super().__init__()
        from body_models.skel._pose import unpack_pose
        from body_models.skel.torch import SKEL

        self.gender = gender
        self._unpack_pose = unpack_pose
        self.skel = SKEL(model_path=str(model_path), gender=gender)
        self.faces = np.asarray(self.skel.faces.detach().cpu().numpy(), dtype=np.int64)
        self.joint_names = list(self.skel.joint_names)
        self.param_specs = skel_param_specs()

    @property
    def num_vertices(self) -> int:
        return int(self.skel.num_vertices)

    def forward(self, **params: torch.Tensor) -> BodyOutput:
        """Skin vertices (B, 6890, 3) and joint centres (B, 24, 3), metres."""
        unknown = set(params) - set(self.param_specs)
        if unknown:
            raise ValueError(f"unknown skel parameters {sorted(unknown)}; expected {list(self.param_specs)}")
        batch = batch_size_of(params)
        ref = self.skel.rest_vertices
        poses = params.get("poses", ref.new_zeros((batch, SKEL_NUM_DOFS))).to(device=ref.device, dtype=ref.dtype)
        betas = params.get("betas", ref.new_zeros((batch, SKEL_NUM_BETAS))).to(device=ref.device, dtype=ref.dtype)
        body_pose, head_pose = self._unpack_pose(torch, poses)
        identity = self.skel.prepare_identity(betas)
        vertices = self.skel.forward_vertices(body_pose, head_pose, identity=identity)
        joints = self.skel.forward_skeleton(body_pose, head_pose, identity=identity)[..., :3, 3]
        return BodyOutput(vertices=vertices, joints=joints)
