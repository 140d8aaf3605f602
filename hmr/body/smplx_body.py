"""SMPL-X and SMPL through the ``smplx`` package.

Both go through smplx's ``*Layer`` classes, which take rotation matrices (``pose2rot=False``):
network outputs are matrices already, and axis-angle inputs are converted once with roma.
SMPL-X is loaded the way Multi-HMR uses it: flat hand mean, no hand PCA, 127 output joints
(55 skeleton joints + 21 vertex joints + 51 face landmarks, no face contour).
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any

import numpy as np
import torch

from hmr.body.base import BodyModel, BodyOutput, ParamSpec
from hmr.body.joint_names import joint_names
from hmr.body.rotations import as_rotmats, batch_size_of


def smplx_param_specs(num_betas: int = 10, num_expression: int = 10) -> dict[str, ParamSpec]:
    """SMPL-X parameters, asset-free (what a network needs to size its decoders)."""
    rot = "axis-angle, or rotation matrices with trailing (3, 3)"
    specs = [
        ParamSpec("global_orient", (3,), "rotvec", doc=f"root rotation about the pelvis; {rot}"),
        ParamSpec("body_pose", (21, 3), "rotvec", doc=f"SMPL-X body joints 1..21; {rot}"),
        ParamSpec("left_hand_pose", (15, 3), "rotvec", doc=f"left hand joints 25..39, flat hand mean; {rot}"),
        ParamSpec("right_hand_pose", (15, 3), "rotvec", doc=f"right hand joints 40..54, flat hand mean; {rot}"),
        ParamSpec("jaw_pose", (1, 3), "rotvec", doc=f"jaw joint 22; {rot}"),
        ParamSpec("betas", (num_betas,), "real", doc="shape coefficients"),
        ParamSpec("expression", (num_expression,), "real", doc="expression coefficients"),
    ]
    return {s.name: s for s in specs}


def smpl_param_specs(num_betas: int = 10) -> dict[str, ParamSpec]:
    """SMPL parameters, asset-free."""
    rot = "axis-angle, or rotation matrices with trailing (3, 3)"
    specs = [
        ParamSpec("global_orient", (3,), "rotvec", doc=f"root rotation about the pelvis; {rot}"),
        ParamSpec("body_pose", (23, 3), "rotvec", doc=f"SMPL joints 1..23; {rot}"),
        ParamSpec("betas", (num_betas,), "real", doc="shape coefficients"),
    ]
    return {s.name: s for s in specs}


class _SmplxLayerBody(BodyModel):
    """Shared forward for models backed by a ``smplx`` layer; subclasses build the layer."""

    head_joint = 15
    pelvis_joint = 0
    # an smplx.SMPLXLayer / SMPLLayer (an nn.Module); smplx ships no type information for its attributes
    layer: Any

    def _finish_init(self, specs: dict[str, ParamSpec], joint_names: list[str]) -> None:
        self.param_specs = specs
        self.faces = np.asarray(self.layer.faces, dtype=np.int64)
        self.joint_names = joint_names

    @property
    def num_vertices(self) -> int:
        return int(self.layer.v_template.shape[0])

    def forward(self, **params: torch.Tensor) -> BodyOutput:
        """Posed vertices (B, V, 3) and joints (B, K, 3); rotations as rotvec or matrices."""
        unknown = set(params) - set(self.param_specs)
        if unknown:
            raise ValueError(f"unknown {self.name} parameters {sorted(unknown)}; expected {list(self.param_specs)}")
        batch = batch_size_of(params)
        ref = self.layer.shapedirs
        layer_args: dict[str, torch.Tensor] = {}
        for name, value in params.items():
            value = value.to(device=ref.device, dtype=ref.dtype)
            spec = self.param_specs[name]
            layer_args[name] = as_rotmats(value, spec) if spec.kind == "rotvec" else value.reshape(batch, -1)
        # smplx builds identity / zero defaults only from the arguments it is given
        for name, spec in self.param_specs.items():
            if name not in layer_args and spec.kind == "real":
                layer_args[name] = ref.new_zeros((batch, *spec.shape))
        out = self.layer(**layer_args)
        return BodyOutput(vertices=out.vertices, joints=out.joints)


class SmplxBody(_SmplxLayerBody):
    """SMPL-X (neutral / male / female), 10+ betas, 10 expression coefficients, 127 joints."""

    name = "smplx"

    def __init__(
        self, model_path: str | os.PathLike, gender: str = "neutral", num_betas: int = 10, num_expression: int = 10
    ) -> None:
        super().__init__()
        import smplx

        self.gender = gender
        # smplx prints a warning for files with fewer components than asked for; the specs below say it
        with contextlib.redirect_stdout(io.StringIO()):
            self.layer = smplx.SMPLXLayer(
                model_path=str(model_path),
                gender=gender,
                num_betas=num_betas,
                num_expression_coeffs=num_expression,
                use_pca=False,
                flat_hand_mean=True,
                use_face_contour=False,
                ext="npz",
            )
        specs = smplx_param_specs(self.layer.num_betas, self.layer.num_expression_coeffs)
        self._finish_init(specs, joint_names("smplx"))


class SmplBody(_SmplxLayerBody):
    """SMPL (neutral / male / female), the body model of 3DPW and EMDB; 24 + 21 vertex joints."""

    name = "smpl"

    def __init__(self, model_path: str | os.PathLike, gender: str = "neutral", num_betas: int = 10) -> None:
        super().__init__()
        import smplx

        self.gender = gender
        # smplx prints a warning for the common 10-beta SMPL files, the normal case here
        with contextlib.redirect_stdout(io.StringIO()):
            self.layer = smplx.SMPLLayer(model_path=str(model_path), gender=gender, num_betas=num_betas)
        self._finish_init(smpl_param_specs(self.layer.num_betas), joint_names("smpl"))
