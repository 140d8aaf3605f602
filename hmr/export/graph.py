"""The exported computation: uint8 images + intrinsics + threshold -> a fixed-size table of persons.

Eager inference finds a data-dependent number of peaks; an ONNX graph with such shapes is hard to serve
and to optimise. Here every image gets exactly ``max_persons`` slots: the best peaks after max-pool NMS
(fixed top-P), a ``valid`` mask for those at or above ``det_thresh`` (a graph input), valid persons first
in row-major cell order (the order the eager path uses). The Human Prediction Head already masks
invalid slots, so valid persons get the same numbers as in eager mode.
"""

from __future__ import annotations

import torch
from torch import nn

from hmr.errors import HmrError
from hmr.export.smplx_lbs import SmplxLbs
from hmr.geometry import head_position, move_head_to, project, rot6d_to_rotmat, rotmat_to_rotvec
from hmr.nn.detection import nms_score_map
from hmr.nn.network import HumanMeshNet
from hmr.onnx_format import MESH_OUTPUTS, PARAM_OUTPUTS

#: SMPL-X rotations as the network predicts them: global, 21 body, 15 left hand, 15 right hand, jaw
NUM_ROTATIONS = 53


def select_persons(
    score_map: torch.Tensor, det_thresh: torch.Tensor, max_persons: int, nms_kernel: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top ``max_persons`` NMS peaks per image -> ``scores, rows, cols, valid``, each ``(B, P)``.

    score_map ``(B, h, w)``; det_thresh a scalar tensor. Scores of invalid slots are 0, as in eager mode.
    """
    grid = score_map.shape[-1]
    num_cells = score_map.shape[-1] * score_map.shape[-2]
    peaks = nms_score_map(score_map, nms_kernel).flatten(1)
    top_scores, top_cells = peaks.topk(max_persons, dim=1)
    valid = top_scores >= det_thresh
    # valid persons first, in row-major order: sort on the cell index, pushed past the grid when invalid
    order = torch.where(valid, top_cells, top_cells + num_cells).argsort(dim=1)
    cells = top_cells.gather(1, order)
    valid = valid.gather(1, order)
    scores = score_map.flatten(1).gather(1, cells) * valid.to(score_map.dtype)
    return scores, cells // grid, cells % grid, valid


class HumanMeshGraph(nn.Module):
    """``forward(images (B, 3, S, S) uint8, K (B, 3, 3) float32, det_thresh () float32) -> dict``.

    Outputs, ``P = max_persons``: ``scores (B, P)``, ``valid (B, P)`` bool, ``loc (B, P, 2)`` network-input
    pixels, ``transl (B, P, 3)`` head position (m), ``rotmat (B, P, 53, 3, 3)``, ``rotvec (B, P, 53, 3)``,
    ``betas``, ``expression``; with a body model also ``vertices (B, P, V, 3)``, ``joints_3d (B, P, J, 3)``,
    ``joints_2d (B, P, J, 2)`` (network-input pixels) and ``transl_pelvis (B, P, 3)``, all placed in the
    camera frame exactly as :func:`hmr.infer.decode.decode_persons` does.
    """

    def __init__(
        self,
        network: HumanMeshNet,
        max_persons: int,
        nms_kernel: int = 3,
        body: nn.Module | None = None,
        head_joint: int = 15,
        pelvis_joint: int = 0,
    ) -> None:
        super().__init__()
        self.network = network
        self.max_persons = max_persons
        self.nms_kernel = nms_kernel
        if body is not None and pelvis_joint != 0:
            raise HmrError(f"the graph rotates bodies about SMPL-X's root joint (0), not joint {pelvis_joint}")
        self.body = SmplxLbs(body) if body is not None else None
        self.head_joint, self.pelvis_joint = head_joint, pelvis_joint

    @property
    def output_names(self) -> list[str]:
        return [*PARAM_OUTPUTS, *(MESH_OUTPUTS if self.body is not None else ())]

    def forward(self, images: torch.Tensor, K: torch.Tensor, det_thresh: torch.Tensor) -> dict[str, torch.Tensor]:
        net = self.network
        tokens = net.encode(images)
        score_map = net.score_map(tokens)
        scores, rows, cols, valid = select_persons(score_map, det_thresh, self.max_persons, self.nms_kernel)
        raw = net.predict_persons(tokens, K, scores, rows, cols, valid)
        batch, slots = scores.shape
        persons = batch * slots
        pose_6d = raw.decoded["pose"].reshape(persons, NUM_ROTATIONS, 6)
        rotmat = rot6d_to_rotmat(pose_6d)
        K_person = K[:, None].expand(batch, slots, 3, 3).reshape(persons, 3, 3)
        loc = raw.loc_px.reshape(persons, 2)
        head_cam = head_position(loc, raw.depth_m.reshape(persons), K_person)
        betas = raw.decoded["shape"].reshape(persons, -1)
        expression = raw.decoded["expression"].reshape(persons, -1)
        per_person = {
            "loc": loc,
            "transl": head_cam,
            "rotmat": rotmat,
            "rotvec": rotmat_to_rotvec(rotmat),
            "betas": betas,
            "expression": expression,
        }
        if self.body is not None:
            per_person.update(self._place_bodies(rotmat, betas, expression, head_cam, K_person))
        out = {"scores": scores, "valid": valid}
        out.update({name: value.reshape(batch, slots, *value.shape[1:]) for name, value in per_person.items()})
        return out

    def _place_bodies(
        self,
        rotmat: torch.Tensor,
        betas: torch.Tensor,
        expression: torch.Tensor,
        head_cam: torch.Tensor,
        K_person: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Multi-HMR's placement (:func:`hmr.infer.decode.place_bodies`): rotate the body about its pelvis,
        then move its head joint to ``head_cam``. The pelvis is SMPL-X's root joint, so posing with the
        global rotation at the root is that same rotation, without a pass over every vertex."""
        assert self.body is not None  # only called for a graph with a body model
        persons = rotmat.shape[0]
        eye = torch.eye(3, dtype=rotmat.dtype, device=rotmat.device).expand(persons, 2, 3, 3)
        # network order (global, body, left hand, right hand, jaw) -> SMPL-X's (global, body, jaw, eyes, hands)
        full_pose = torch.cat([rotmat[:, :22], rotmat[:, 52:53], eye, rotmat[:, 22:52]], dim=1)
        vertices, joints = self.body(full_pose, torch.cat([betas, expression], dim=-1))
        verts_cam, joints_cam = move_head_to(vertices, joints, head_cam, self.head_joint)
        return {
            "vertices": verts_cam,
            "joints_3d": joints_cam,
            "joints_2d": project(joints_cam, K_person),
            "transl_pelvis": joints_cam[:, self.pelvis_joint],
        }
