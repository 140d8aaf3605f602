"""SKEL's 46 pose degrees of freedom as data, grouped for a network decoder.

SKEL poses its 24 anatomical bones with 46 joint angles (OpenSim coordinates, radians). A decoder
cannot treat them alike, so each DoF belongs to one group:

* ``ball``: the 3-DoF joints with a full range (pelvis = global orientation, hips, shoulders).
  Decode a rotation matrix (e.g. from 6D) and turn it into the three angles with
  :func:`ball_rotmats_to_dofs`. The decomposition is exact except at gimbal lock (middle angle
  +-pi/2: pelvis list, hip adduction, shoulder y), far outside human ranges for hips and
  shoulders but reachable by the pelvis of a person lying on their side.
* ``hinge``: 1-DoF joints with a large range (knees, ankles, elbows, forearm pronation):
  decode ``(cos, sin)`` and take ``atan2(sin, cos)``, which has no wrap-around discontinuity.
* ``small``: DoF that stay within about +-45 deg (subtalar, toes, the three spine segments
  bending / extension / twist, scapulae, wrists): regress the raw angle.

Axes: body-models builds each joint rotation as ``R2 @ R1 @ R0`` with ``Ri = exp(angle_i * axis_i)``
about the joint's fixed axes, ``angle_i`` being its i-th DoF. ``BALL_JOINT_AXES`` repeats the axes
of the ball joints; tests check them against body-models.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

#: SKEL's 24 bones, in the order of its joints output
SKEL_JOINT_NAMES = (
    "pelvis",
    "femur_r",
    "tibia_r",
    "talus_r",
    "calcn_r",
    "toes_r",
    "femur_l",
    "tibia_l",
    "talus_l",
    "calcn_l",
    "toes_l",
    "lumbar_body",
    "thorax",
    "head",
    "scapula_r",
    "humerus_r",
    "ulna_r",
    "radius_r",
    "hand_r",
    "scapula_l",
    "humerus_l",
    "ulna_l",
    "radius_l",
    "hand_l",
)


class SkelDof(NamedTuple):
    """One pose DoF: its index in ``poses``, OpenSim name, the bone it turns and its decoder group."""

    index: int  # type: ignore[assignment]  # public field name; shadows tuple.index on purpose
    name: str
    joint: int
    group: str


_DOF_ROWS = (  # (name, joint, group); the row number is the index in SKEL's 46-vector
    ("pelvis_tilt", 0, "ball"),
    ("pelvis_list", 0, "ball"),
    ("pelvis_rotation", 0, "ball"),
    ("hip_flexion_r", 1, "ball"),
    ("hip_adduction_r", 1, "ball"),
    ("hip_rotation_r", 1, "ball"),
    ("knee_angle_r", 2, "hinge"),
    ("ankle_angle_r", 3, "hinge"),
    ("subtalar_angle_r", 4, "small"),
    ("mtp_angle_r", 5, "small"),
    ("hip_flexion_l", 6, "ball"),
    ("hip_adduction_l", 6, "ball"),
    ("hip_rotation_l", 6, "ball"),
    ("knee_angle_l", 7, "hinge"),
    ("ankle_angle_l", 8, "hinge"),
    ("subtalar_angle_l", 9, "small"),
    ("mtp_angle_l", 10, "small"),
    ("lumbar_bending", 11, "small"),
    ("lumbar_extension", 11, "small"),
    ("lumbar_twist", 11, "small"),
    ("thorax_bending", 12, "small"),
    ("thorax_extension", 12, "small"),
    ("thorax_twist", 12, "small"),
    ("head_bending", 13, "small"),
    ("head_extension", 13, "small"),
    ("head_twist", 13, "small"),
    ("scapula_abduction_r", 14, "small"),
    ("scapula_elevation_r", 14, "small"),
    ("scapula_upward_rot_r", 14, "small"),
    ("shoulder_r_x", 15, "ball"),
    ("shoulder_r_y", 15, "ball"),
    ("shoulder_r_z", 15, "ball"),
    ("elbow_flexion_r", 16, "hinge"),
    ("pro_sup_r", 17, "hinge"),
    ("wrist_flexion_r", 18, "small"),
    ("wrist_deviation_r", 18, "small"),
    ("scapula_abduction_l", 19, "small"),
    ("scapula_elevation_l", 19, "small"),
    ("scapula_upward_rot_l", 19, "small"),
    ("shoulder_l_x", 20, "ball"),
    ("shoulder_l_y", 20, "ball"),
    ("shoulder_l_z", 20, "ball"),
    ("elbow_flexion_l", 21, "hinge"),
    ("pro_sup_l", 22, "hinge"),
    ("wrist_flexion_l", 23, "small"),
    ("wrist_deviation_l", 23, "small"),
)

SKEL_DOFS: tuple[SkelDof, ...] = tuple(SkelDof(i, *row) for i, row in enumerate(_DOF_ROWS))
SKEL_NUM_DOFS = len(SKEL_DOFS)


def dof_groups() -> dict[str, list[int]]:
    """DoF indices of each decoder group (15 ball, 8 hinge, 23 small), in ``poses`` order."""
    groups: dict[str, list[int]] = {"ball": [], "hinge": [], "small": []}
    for dof in SKEL_DOFS:
        groups[dof.group].append(dof.index)
    return groups


#: the ball joints (bone index) in ``poses`` order, and their three DoF indices each
BALL_JOINTS = tuple(sorted({d.joint for d in SKEL_DOFS if d.group == "ball"}))
BALL_JOINT_DOFS = tuple(tuple(d.index for d in SKEL_DOFS if d.joint == j) for j in BALL_JOINTS)

#: rows are the rotation axes of DoF 0, 1, 2 of each ball joint (body-models' joint definitions)
BALL_JOINT_AXES = {
    0: ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    1: ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    6: ((0.0, 0.0, 1.0), (-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
    15: ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    20: ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
}


def _axes_columns(like: torch.Tensor) -> torch.Tensor:
    """(J, 3, 3) matrices whose columns are the ball-joint axes (all proper rotations)."""
    rows = torch.tensor([BALL_JOINT_AXES[j] for j in BALL_JOINTS], dtype=like.dtype, device=like.device)
    return rows.transpose(-1, -2)


def ball_dofs_to_rotmats(poses: torch.Tensor) -> torch.Tensor:
    """Rotations of the ball joints from SKEL poses: (B, 46) -> (B, 5, 3, 3), ``R2 @ R1 @ R0``."""
    angles = poses[:, list(BALL_JOINT_DOFS)]  # (B, 5, 3)
    c, s = torch.cos(angles), torch.sin(angles)
    one, zero = torch.ones_like(c[..., 0]), torch.zeros_like(c[..., 0])
    rx = torch.stack([one, zero, zero, zero, c[..., 0], -s[..., 0], zero, s[..., 0], c[..., 0]], -1)
    ry = torch.stack([c[..., 1], zero, s[..., 1], zero, one, zero, -s[..., 1], zero, c[..., 1]], -1)
    rz = torch.stack([c[..., 2], -s[..., 2], zero, s[..., 2], c[..., 2], zero, zero, zero, one], -1)
    in_axes = rz.unflatten(-1, (3, 3)) @ ry.unflatten(-1, (3, 3)) @ rx.unflatten(-1, (3, 3))
    axes = _axes_columns(poses)
    return axes @ in_axes @ axes.transpose(-1, -2)


def ball_rotmats_to_dofs(rotmats: torch.Tensor) -> torch.Tensor:
    """The three angles of each ball joint from its rotation: (B, 5, 3, 3) -> (B, 5, 3).

    Angle k goes to DoF ``BALL_JOINT_DOFS[j][k]`` of ball joint j. Inverse of
    :func:`ball_dofs_to_rotmats` away from gimbal lock (middle angle in (-pi/2, pi/2)).
    """
    axes = _axes_columns(rotmats)
    m = axes.transpose(-1, -2) @ rotmats @ axes  # Rz(a2) Ry(a1) Rx(a0)
    a0 = torch.atan2(m[..., 2, 1], m[..., 2, 2])
    a1 = torch.atan2(-m[..., 2, 0], torch.sqrt(m[..., 2, 1] ** 2 + m[..., 2, 2] ** 2))
    a2 = torch.atan2(m[..., 1, 0], m[..., 0, 0])
    return torch.stack([a0, a1, a2], -1)
