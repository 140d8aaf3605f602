"""What the decoders predict for each body model, and the initial values they are added to.

SMPL-X follows the released Multi-HMR layout (53 x 6D pose, betas, 3 camera numbers of which only
the first, log-depth, is used, 10 expression). The other body models only differ in the pose and
shape decoders' sizes, so one network class serves all of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from hmr.errors import HmrError

#: 6D identity in the layout :func:`hmr.geometry.rot6d_to_rotmat` decodes (first two columns)
IDENTITY_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass(frozen=True)
class OutputLayout:
    """Decoder sizes (``decoders``), which ``init_*`` buffer each one adds to, and all init buffers."""

    body_model: str
    decoders: dict[str, int]
    decoder_inits: dict[str, str]
    inits: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def init_values(self) -> dict[str, torch.Tensor]:
        return {name: torch.tensor(values, dtype=torch.float32) for name, values in self.inits.items()}


def output_layout(body_model: str, num_betas: int = 10) -> OutputLayout:
    if body_model == "smplx":
        return OutputLayout(
            body_model,
            decoders={"pose": 53 * 6, "shape": num_betas, "cam": 3, "expression": 10},
            decoder_inits={"pose": "body_pose", "shape": "betas", "cam": "cam", "expression": "expression"},
            inits={"body_pose": IDENTITY_6D * 53, "betas": (0.0,) * num_betas, "betas_kid": (0.0,) * (num_betas + 1),
                   "cam": (0.9, 0.0, 0.0), "expression": (0.0,) * 10},
        )
    raise HmrError(f"no network output layout for body model {body_model!r}")


@dataclass
class BodyParams:
    """Decoded network outputs for ``N`` persons, ready for a body model.

    ``body_params`` poses the body with ZERO global rotation (Multi-HMR applies the global rotation
    about the pelvis afterwards, see :func:`hmr.infer.decode`); ``rotmats`` ``(N, J, 3, 3)`` hold every
    rotation including the global one, for the axis-angle output.
    """

    global_rotmat: torch.Tensor
    body_params: dict[str, torch.Tensor]
    rotmats: torch.Tensor
    betas: torch.Tensor
    expression: torch.Tensor


def decode_body_params(layout: OutputLayout, decoded: dict[str, torch.Tensor]) -> BodyParams:
    """Network decoder outputs ``{name: (N, dim)}`` -> body-model parameters."""
    from hmr.geometry import rot6d_to_rotmat

    if layout.body_model == "smplx":
        rotmats = rot6d_to_rotmat(decoded["pose"].reshape(-1, 53, 6))
        identity = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device).expand(len(rotmats), 1, 3, 3)
        params = {"global_orient": identity, "body_pose": rotmats[:, 1:22], "left_hand_pose": rotmats[:, 22:37],
                  "right_hand_pose": rotmats[:, 37:52], "jaw_pose": rotmats[:, 52:53],
                  "betas": decoded["shape"], "expression": decoded["expression"]}
        return BodyParams(rotmats[:, 0], params, rotmats, decoded["shape"], decoded["expression"])
    raise HmrError(f"no network output layout for body model {layout.body_model!r}")
