"""What the decoders predict for each body model, the initial values they add to, and how the raw
numbers become body-model parameters.

SMPL-X follows the released Multi-HMR layout (53 x 6D pose, betas, 3 camera numbers of which only the
first, log-depth, is used, 10 expression). SKEL and Anny reuse the same network and only change the pose
and shape decoders, with parameterisations that keep every output valid:

* SKEL (46 joint angles): 6D for each 3-DoF ball joint (pelvis = global, hips, shoulders), ``(cos, sin)``
  for each 1-DoF hinge (knees, ankles, elbows, pronation), the raw angle for small-range DoF, soft-limited
  to +-90 deg (``L tanh(x / L)``: the identity for small angles, never an impossible twist).
* Anny: 6D for the global rotation and each of the 35 body bones; phenotypes through a sigmoid onto
  their valid range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from hmr.body.anny_body import ANNY_BONE_GROUPS, ANNY_DEFAULT_PHENOTYPE, ANNY_PHENOTYPES
from hmr.body.skel_dofs import BALL_JOINT_DOFS, SKEL_NUM_DOFS, ball_rotmats_to_dofs, dof_groups
from hmr.errors import HmrError
from hmr.geometry import rot6d_to_rotmat

#: 6D identity in the layout :func:`hmr.geometry.rot6d_to_rotmat` decodes (first two columns)
IDENTITY_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
NETWORK_BODY_MODELS = ("smplx", "skel", "anny")
#: soft bound of SKEL's small-range DoF, radians
SMALL_DOF_LIMIT = torch.pi / 2
#: the SMPL-X pose decoder's 53 rotations in the released Multi-HMR order (what its checkpoints and our
#: ONNX files hold): name of the SMPL-X parameter and how many rotations it holds
SMPLX_ROTATION_LAYOUT = (
    ("global_orient", 1),
    ("body_pose", 21),
    ("left_hand_pose", 15),
    ("right_hand_pose", 15),
    ("jaw_pose", 1),
)


def smplx_params_from_rotmats(
    rotmats: torch.Tensor, betas: torch.Tensor, expression: torch.Tensor
) -> dict[str, torch.Tensor]:
    """SMPL-X forward parameters from the pose decoder's rotations (:data:`SMPLX_ROTATION_LAYOUT`).

    rotmats: (B, 53, 3, 3) ordered global, 21 body, 15 left hand, 15 right hand, jaw (eyes stay
    at identity); betas: (B, num_betas); expression: (B, num_expression).
    """
    total = sum(n for _, n in SMPLX_ROTATION_LAYOUT)
    if rotmats.shape[1:] != (total, 3, 3):
        raise ValueError(f"expected rotmats of shape (B, {total}, 3, 3), got {tuple(rotmats.shape)}")
    params: dict[str, torch.Tensor] = {}
    start = 0
    for name, count in SMPLX_ROTATION_LAYOUT:
        params[name] = rotmats[:, start : start + count]
        start += count
    params["global_orient"] = params["global_orient"][:, 0]
    params["betas"] = betas
    params["expression"] = expression
    return params


@dataclass(frozen=True)
class OutputLayout:
    """Decoder sizes (``decoders``), which ``init_*`` buffer each one adds to, and all init buffers."""

    body_model: str
    decoders: dict[str, int]
    decoder_inits: dict[str, str]
    inits: dict[str, tuple[float, ...]] = field(default_factory=dict)
    shape_names: tuple[str, ...] = ()

    def init_values(self) -> dict[str, torch.Tensor]:
        return {name: torch.tensor(values, dtype=torch.float32) for name, values in self.inits.items()}


def output_layout(body_model: str, num_betas: int = 10) -> OutputLayout:
    decoder_inits = {"pose": "body_pose", "shape": "betas", "cam": "cam"}
    if body_model == "smplx":
        return OutputLayout(
            body_model,
            decoders={"pose": 53 * 6, "shape": num_betas, "cam": 3, "expression": 10},
            decoder_inits={**decoder_inits, "expression": "expression"},
            inits={
                "body_pose": IDENTITY_6D * 53,
                "betas": (0.0,) * num_betas,
                "betas_kid": (0.0,) * (num_betas + 1),
                "cam": (0.9, 0.0, 0.0),
                "expression": (0.0,) * 10,
            },
        )
    if body_model == "skel":
        groups = dof_groups()
        pose_init = (
            IDENTITY_6D * len(BALL_JOINT_DOFS) + (1.0, 0.0) * len(groups["hinge"]) + (0.0,) * len(groups["small"])
        )
        return OutputLayout(
            body_model,
            decoders={"pose": len(pose_init), "shape": 10, "cam": 3},
            decoder_inits=decoder_inits,
            inits={"body_pose": pose_init, "betas": (0.0,) * 10, "cam": (0.9, 0.0, 0.0)},
        )
    if body_model == "anny":
        num_rotations = 1 + len(ANNY_BONE_GROUPS["body_pose"])
        phenotype_init = tuple(
            float(torch.logit(torch.tensor((ANNY_DEFAULT_PHENOTYPE - low) / (high - low))))
            for low, high, _ in ANNY_PHENOTYPES.values()
        )
        return OutputLayout(
            body_model,
            decoders={"pose": 6 * num_rotations, "shape": len(ANNY_PHENOTYPES), "cam": 3},
            decoder_inits=decoder_inits,
            inits={"body_pose": IDENTITY_6D * num_rotations, "betas": phenotype_init, "cam": (0.9, 0.0, 0.0)},
            shape_names=tuple(ANNY_PHENOTYPES),
        )
    raise HmrError(f"networks predict {', '.join(NETWORK_BODY_MODELS)} bodies, not {body_model!r}")


@dataclass
class BodyParams:
    """Decoded network outputs for ``N`` persons, ready for a body model.

    ``body_params`` poses the body with ZERO global rotation (Multi-HMR applies the global rotation about
    the pelvis afterwards, see :func:`hmr.infer.decode.place_bodies`); ``rotmats`` ``(N, J, 3, 3)`` hold
    the predicted rotations, the global one first, for the axis-angle output; ``full_params`` is
    ``body_params`` with the global rotation in place, i.e. what re-poses the body exactly.
    """

    global_rotmat: torch.Tensor
    body_params: dict[str, torch.Tensor]
    full_params: dict[str, torch.Tensor]
    rotmats: torch.Tensor
    betas: torch.Tensor
    expression: torch.Tensor


def decode_body_params(layout: OutputLayout, decoded: dict[str, torch.Tensor]) -> BodyParams:
    """Network decoder outputs ``{name: (N, dim)}`` -> body-model parameters."""
    decode = {"smplx": _decode_smplx, "skel": _decode_skel, "anny": _decode_anny}[layout.body_model]
    return decode(decoded)


def _identity_like(rotmats: torch.Tensor) -> torch.Tensor:
    return torch.eye(3, dtype=rotmats.dtype, device=rotmats.device).expand(len(rotmats), 3, 3)


def _decode_smplx(decoded: dict[str, torch.Tensor]) -> BodyParams:
    rotmats = rot6d_to_rotmat(decoded["pose"].reshape(-1, 53, 6))
    params = smplx_params_from_rotmats(rotmats, decoded["shape"], decoded["expression"])
    return BodyParams(
        rotmats[:, 0],
        {**params, "global_orient": _identity_like(rotmats)},
        params,
        rotmats,
        decoded["shape"],
        decoded["expression"],
    )


def _decode_skel(decoded: dict[str, torch.Tensor]) -> BodyParams:
    groups = dof_groups()
    raw = decoded["pose"]
    num_ball = len(BALL_JOINT_DOFS)
    ball_rotmats = rot6d_to_rotmat(raw[:, : 6 * num_ball].reshape(-1, num_ball, 6))
    hinge = raw[:, 6 * num_ball : 6 * num_ball + 2 * len(groups["hinge"])].reshape(-1, len(groups["hinge"]), 2)
    small = raw[:, 6 * num_ball + 2 * len(groups["hinge"]) :]
    poses = raw.new_zeros(len(raw), SKEL_NUM_DOFS)
    poses[:, [i for dofs in BALL_JOINT_DOFS for i in dofs]] = ball_rotmats_to_dofs(ball_rotmats).flatten(1)
    poses[:, groups["hinge"]] = torch.atan2(hinge[..., 1], hinge[..., 0])
    poses[:, groups["small"]] = SMALL_DOF_LIMIT * torch.tanh(small / SMALL_DOF_LIMIT)
    posed_locally = poses.clone()
    posed_locally[:, list(BALL_JOINT_DOFS[0])] = 0.0  # the pelvis DoF are the global rotation
    empty = raw.new_zeros(len(raw), 0)
    return BodyParams(
        ball_rotmats[:, 0],
        {"poses": posed_locally, "betas": decoded["shape"]},
        {"poses": poses, "betas": decoded["shape"]},
        ball_rotmats,
        decoded["shape"],
        empty,
    )


def _decode_anny(decoded: dict[str, torch.Tensor]) -> BodyParams:
    pose = decoded["pose"]
    rotmats = rot6d_to_rotmat(pose.reshape(len(pose), pose.shape[-1] // 6, 6))
    low = decoded["shape"].new_tensor([low for low, _, _ in ANNY_PHENOTYPES.values()])
    high = decoded["shape"].new_tensor([high for _, high, _ in ANNY_PHENOTYPES.values()])
    phenotypes = low + (high - low) * torch.sigmoid(decoded["shape"])
    params = {"body_pose": rotmats[:, 1:], **{name: phenotypes[:, i : i + 1] for i, name in enumerate(ANNY_PHENOTYPES)}}
    empty = phenotypes.new_zeros(len(phenotypes), 0)
    return BodyParams(
        rotmats[:, 0],
        {**params, "global_orient": _identity_like(rotmats)},
        {**params, "global_orient": rotmats[:, 0]},
        rotmats,
        phenotypes,
        empty,
    )
