"""SMPL-X posed from rotation matrices, written so that it traces into a static ONNX graph.

The arrays are read from the loaded SMPL-X adapter (the ``smplx.SMPLX`` module inside it), so the graph
carries exactly the user's body-model file. The formulation is the standard one (blend shapes, joint
regression, pose-corrective blend shapes, forward kinematics, linear blend skinning); what differs from
the ``smplx`` package is only how it is written: the kinematic tree is a Python list unrolled at trace
time (indexing a list with a tensor is data-dependent for an exporter) and rigid transforms are kept
as rotation + translation instead of padded 4 x 4 matrices.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hmr.errors import HmrError

#: SMPL-X joint order of the full pose: global, 21 body, jaw, left eye, right eye, 15 + 15 hand joints
NUM_POSE_JOINTS = 55


def find_smplx_layer(body: nn.Module) -> nn.Module:
    """The ``smplx.SMPLX`` module inside an adapter (or the module itself)."""
    import smplx

    for module in body.modules():
        if isinstance(module, smplx.SMPLX):
            return module
    raise HmrError(
        f"{type(body).__name__} holds no smplx.SMPLX model; the ONNX export only embeds SMPL-X "
        "bodies (use --body-model none to export the network alone)"
    )


class SmplxLbs(nn.Module):
    """``forward(rotmats (N, 55, 3, 3), shape_coeffs (N, betas + expression)) -> (vertices (N, V, 3),
    joints (N, 127, 3))``: 55 skeleton joints, then the extra vertex joints, then the face landmarks,
    the order of ``smplx.SMPLX``'s output."""

    # buffers registered in __init__ (plus ``level<k>_joints`` / ``level<k>_parent_slots`` per tree level)
    v_template: torch.Tensor
    shape_dirs: torch.Tensor
    pose_dirs: torch.Tensor
    joint_template: torch.Tensor
    joint_shape_dirs: torch.Tensor
    skin_weights: torch.Tensor
    extra_joint_verts: torch.Tensor
    landmark_verts: torch.Tensor
    landmark_bary: torch.Tensor
    parent_of: torch.Tensor
    joint_slots: torch.Tensor

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        layer: Any = find_smplx_layer(body)  # an smplx.SMPLX; smplx ships no type information
        if getattr(layer, "use_face_contour", False):
            raise HmrError(
                "SMPL-X with face-contour landmarks cannot be exported (they are chosen per pose); "
                "load the body model without use_face_contour"
            )
        num_verts = layer.v_template.shape[0]
        shapedirs = torch.cat([layer.shapedirs, layer.expr_dirs], dim=-1)  # (V, 3, betas + expression)
        self.num_betas = int(layer.shapedirs.shape[-1])
        self.num_expression = int(layer.expr_dirs.shape[-1])
        self.register_buffer("v_template", layer.v_template.detach().float().clone())
        self.register_buffer("shape_dirs", shapedirs.detach().float().reshape(num_verts * 3, -1).T.contiguous())
        self.register_buffer("pose_dirs", layer.posedirs.detach().float().clone())  # (54 * 9, V * 3)
        # joints are linear in the shape coefficients: regress the template and the blend shapes once here
        # instead of every person's shaped mesh (10475 vertices) in the graph
        regressor = layer.J_regressor.detach().double()  # (55, V)
        self.register_buffer("joint_template", (regressor @ layer.v_template.detach().double()).float())  # (55, 3)
        joint_dirs = torch.einsum("jv,vcs->sjc", regressor, shapedirs.detach().double())
        self.register_buffer("joint_shape_dirs", joint_dirs.reshape(joint_dirs.shape[0], -1).float())  # (S, 55 * 3)
        self.register_buffer("skin_weights", layer.lbs_weights.detach().float().clone())  # (V, 55)
        faces = layer.faces_tensor.detach().long()
        self.register_buffer("extra_joint_verts", layer.vertex_joint_selector.extra_joints_idxs.detach().long().clone())
        self.register_buffer("landmark_verts", faces[layer.lmk_faces_idx.detach().long()].clone())  # (L, 3)
        self.register_buffer("landmark_bary", layer.lmk_bary_coords.detach().float().clone())  # (L, 3)
        parents = [int(p) for p in layer.parents.tolist()]
        if len(parents) != NUM_POSE_JOINTS:
            raise HmrError(f"SMPL-X model has {len(parents)} joints, expected {NUM_POSE_JOINTS}")
        self.register_buffer("parent_of", torch.tensor([0] + parents[1:]))
        self._register_levels(parents)

    def _register_levels(self, parents: list[int]) -> None:
        """Group joints by depth in the tree so forward kinematics takes one step per level (11 for
        SMPL-X) instead of one per joint: each exported op costs export time and a kernel launch."""
        depth = [0] * len(parents)
        for joint in range(1, len(parents)):
            depth[joint] = depth[parents[joint]] + 1
        done: list[int] = [0]
        self.num_levels = max(depth)
        for level in range(1, self.num_levels + 1):
            joints = [j for j in range(len(parents)) if depth[j] == level]
            self.register_buffer(f"level{level}_joints", torch.tensor(joints))
            self.register_buffer(f"level{level}_parent_slots", torch.tensor([done.index(parents[j]) for j in joints]))
            done += joints
        self.register_buffer("joint_slots", torch.tensor([done.index(j) for j in range(len(parents))]))

    @property
    def num_joints(self) -> int:
        return NUM_POSE_JOINTS + len(self.extra_joint_verts) + len(self.landmark_verts)

    def forward(self, rotmats: torch.Tensor, shape_coeffs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        num = rotmats.shape[0]
        v_shaped = self.v_template + (shape_coeffs @ self.shape_dirs).reshape(num, -1, 3)
        rest_joints = self.joint_template + (shape_coeffs @ self.joint_shape_dirs).reshape(num, -1, 3)
        eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
        pose_feature = (rotmats[:, 1:] - eye).reshape(num, -1)
        v_posed = v_shaped + (pose_feature @ self.pose_dirs).reshape(num, -1, 3)

        # forward kinematics, one tree level at a time; slots hold joints in processing order
        offsets = rest_joints - rest_joints.index_select(1, self.parent_of)
        world_rot, world_pos = rotmats[:, :1], rest_joints[:, :1]
        for level in range(1, self.num_levels + 1):
            joints = getattr(self, f"level{level}_joints")
            parent_slots = getattr(self, f"level{level}_parent_slots")
            parent_rot = world_rot.index_select(1, parent_slots)
            parent_pos = world_pos.index_select(1, parent_slots)
            world_rot = torch.cat([world_rot, _matmul3(parent_rot, rotmats.index_select(1, joints))], dim=1)
            world_pos = torch.cat([world_pos, _matvec3(parent_rot, offsets.index_select(1, joints)) + parent_pos], 1)
        rot = world_rot.index_select(1, self.joint_slots)  # (N, 55, 3, 3)
        posed_joints = world_pos.index_select(1, self.joint_slots)  # (N, 55, 3)

        # skinning transform of joint j maps a rest-pose point x to rot_j (x - rest_j) + posed_j
        shift = posed_joints - _matvec3(rot, rest_joints)
        transforms = torch.cat([rot.flatten(2), shift], dim=-1)  # (N, 55, 12)
        blended = (self.skin_weights @ transforms).reshape(num, -1, 4, 3)  # (N, V, [3 rows + shift], 3)
        vertices = _matvec3(blended[:, :, :3], v_posed) + blended[:, :, 3]

        extra = vertices.index_select(1, self.extra_joint_verts)
        landmarks = (vertices[:, self.landmark_verts] * self.landmark_bary[..., None]).sum(dim=2)
        return vertices, torch.cat([posed_joints, extra, landmarks], dim=1)


def _matmul3(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched 3 x 3 products as one broadcast multiply + sum (exports to two ops, not a reshape chain)."""
    return (a[..., :, :, None] * b[..., None, :, :]).sum(dim=-2)


def _matvec3(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3) @ (..., 3) -> (..., 3)``."""
    return (a * v[..., None, :]).sum(dim=-1)
