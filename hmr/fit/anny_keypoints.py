"""Anny's keypoints without skinning its 13718-vertex mesh: the fitter's fast forward.

A regressed keypoint is a fixed blend of vertices, and linear blend skinning is linear in the
rest vertices, so a posed keypoint is ``k = sum_b T_b (sum_v r_kv w_vb v_v) = sum_b m_kb T_b p_kb``,
``T_b`` being bone b's skinning transform, ``m_kb = sum_v r_kv w_vb`` and ``p_kb`` the
``r w``-weighted mean of the rest vertices. ``p_kb`` is linear in the phenotype blendshapes like
any vertex, so we hand anny a small model whose "vertices" are the ``p_kb`` (each skinned to its
one bone only): anny's own forward then gives exact keypoints at a fraction of the cost, through
its public API, with the same pose and phenotype semantics as :class:`hmr.body.anny_body.AnnyBody`.

Besides the 23 COCO keypoints of anny's regressor the model returns the five fingertips of each
hand (one mesh vertex each) and all bone heads (finger joints for hand landmarks). For the final
mesh it keeps a second view of the same anny data skinned with anny's default sparse kernel
(NVIDIA Warp on the CPU, plain torch where Warp is missing): the dense torch skinning the body
adapter uses for portability takes ~0.4 s per person on this CPU, the sparse one ~10 ms.
"""

from __future__ import annotations

import contextlib
import dataclasses

import torch

from hmr.body.anny_body import (
    ANNY_BONE_GROUPS,
    ANNY_BONE_LABELS,
    ANNY_TO_OURS,
    AnnyBody,
)
from hmr.body.rotations import as_rotmats

#: fingertip keypoints, each the vertex of the finger's last bone that reaches farthest along it
FINGERTIP_BONES = {
    f"{side}_{name}_tip": f"finger{i}-3.{side[0].upper()}"
    for side in ("left", "right")
    for i, name in enumerate(("thumb", "index", "middle", "ring", "pinky"), start=1)
}


def _fingertip_vertices(anny_model, weights_dense: torch.Tensor) -> list[int]:
    """Vertex index of each fingertip in FINGERTIP_BONES order, from the rest mesh."""
    rest = anny_model.template_vertices
    heads = anny_model.template_bone_heads
    parents = anny_model.bone_parents
    tips = []
    for bone in FINGERTIP_BONES.values():
        b = ANNY_BONE_LABELS.index(bone)
        direction = heads[b] - heads[parents[b]]
        candidates = torch.nonzero(weights_dense[:, b] > 0.5).flatten()
        reach = (rest[candidates] - heads[b]) @ direction
        tips.append(int(candidates[reach.argmax()]))
    return tips


class AnnyKeypointModel(torch.nn.Module):
    """Posed Anny keypoints ``(B, K, 3)`` and bone heads ``(B, 104, 3)``, body frame of AnnyBody
    (y up, facing +z, root at the origin), global orientation left out (the fitter applies it).

    ``keypoint_names``: anny's COCO labels prefixed ``coco_`` (as in ``AnnyBody.joint_names``),
    then the fingertips of :data:`FINGERTIP_BONES`.
    """

    gather: torch.Tensor  # buffers registered in __init__
    to_ours: torch.Tensor

    def __init__(self, body: AnnyBody) -> None:
        super().__init__()
        import anny
        from anny.skinning.skinning import dense_bone_weights

        source = body.anny
        dtype = source.template_vertices.dtype
        weights = dense_bone_weights(
            source.vertex_bone_weights, source.vertex_bone_indices.long(), source.bone_count
        ).to(dtype)  # (V, 104)
        regressor = body.coco.regression_weights.to(dtype)  # (23, V)
        tips = _fingertip_vertices(source, weights)
        tip_rows = torch.zeros((len(tips), regressor.shape[1]), dtype=dtype)
        tip_rows[torch.arange(len(tips)), torch.tensor(tips)] = 1.0
        regressor = torch.cat([regressor, tip_rows])  # (K, V)
        self.keypoint_names = [f"coco_{label}" for label in body.coco.labels] + list(FINGERTIP_BONES)

        mass = regressor @ weights  # (K, 104): m_kb
        pairs = torch.nonzero(mass > 1e-6)  # (P, 2): (keypoint, bone)
        blend = regressor[pairs[:, 0]] * weights[:, pairs[:, 1]].T  # (P, V)
        blend = blend / blend.sum(1, keepdim=True)
        data = source.to_model_data()
        n_pairs = len(pairs)
        bone_index = torch.zeros((n_pairs, data.vertex_bone_indices.shape[1]), dtype=data.vertex_bone_indices.dtype)
        bone_index[:, 0] = pairs[:, 1].to(bone_index.dtype)
        bone_weight = torch.zeros((n_pairs, data.vertex_bone_weights.shape[1]), dtype=data.vertex_bone_weights.dtype)
        bone_weight[:, 0] = 1.0
        virtual = dataclasses.replace(
            data,
            template_vertices=blend @ data.template_vertices,
            blendshapes=torch.einsum("pv,svd->spd", blend, data.blendshapes),
            vertex_bone_weights=bone_weight,
            vertex_bone_indices=bone_index,
            base_mesh_vertex_indices=torch.arange(n_pairs),
            faces=torch.zeros((0, 3), dtype=torch.long),
            texture_coordinates=None,
            face_texture_coordinate_indices=None,
        )
        self.skeleton = anny.Anny.from_model_data(
            virtual,
            skinning_method="lbs",
            pose_parameterization=source.pose_parameterization,
            bone_orientation=source.bone_orientation,
            root_identity_orientation=source.root_identity_orientation,
            phenotypes=source.phenotype_labels,
            extrapolate_phenotypes=source.extrapolate_phenotypes,
        )
        # keypoint k = sum over its pairs of m_kb * (virtual vertex skinned by bone b)
        gather = torch.zeros((len(regressor), n_pairs), dtype=dtype)
        gather[pairs[:, 0], torch.arange(n_pairs)] = mass[pairs[:, 0], pairs[:, 1]]
        self.register_buffer("gather", gather, persistent=False)
        self.register_buffer("to_ours", torch.tensor(ANNY_TO_OURS, dtype=dtype), persistent=False)
        with contextlib.suppress(ImportError):
            import warp

            warp.config.log_level = warp.LOG_WARNING  # its start-up banner would land in every run's output
        self.mesh = anny.Anny.from_model_data(
            source.to_model_data(),
            pose_parameterization=source.pose_parameterization,
            bone_orientation=source.bone_orientation,
            root_identity_orientation=source.root_identity_orientation,
            phenotypes=source.phenotype_labels,
            extrapolate_phenotypes=source.extrapolate_phenotypes,
        )
        self.phenotype_labels = list(source.phenotype_labels)
        self._rest_cache: tuple[torch.Tensor, dict[str, torch.Tensor]] | None = None
        self.param_specs = body.param_specs
        self._group_index = {g: [ANNY_BONE_LABELS.index(b) for b in bones] for g, bones in ANNY_BONE_GROUPS.items()}

    def _deltas(self, rotmats: dict[str, torch.Tensor], batch: int) -> torch.Tensor:
        """(B, 104, 4, 4) anny pose deltas from rotations in our frame (as AnnyBody builds them)."""
        frame = self.to_ours
        rot = torch.eye(3, dtype=frame.dtype, device=frame.device).repeat(batch, len(ANNY_BONE_LABELS), 1, 1)
        for group, value in rotmats.items():
            rot[:, self._group_index[group]] = frame.T @ value @ frame
        return torch.cat(
            [
                torch.cat([rot, rot.new_zeros((batch, rot.shape[1], 3, 1))], -1),
                rot.new_tensor([0.0, 0.0, 0.0, 1.0]).expand(batch, rot.shape[1], 1, 4),
            ],
            -2,
        )

    def forward(self, rotmats: dict[str, torch.Tensor], phenotypes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keypoints (B, K, 3) and bone heads (B, 104, 3).

        rotmats: pose group name (``body_pose``, ``left_hand_pose``, ...) -> (B, N, 3, 3) local
        rotations in our frame, groups left out stay at rest; phenotypes: (B, 6) in
        ``phenotype_labels`` order.
        """
        frame = self.to_ours
        rest = self._rest_model(phenotypes)
        transforms, poses = self.skeleton.get_bone_transforms(
            self._deltas(rotmats, phenotypes.shape[0]), rest["rest_bone_poses"]
        )
        vertices = self.skeleton.get_skinned_vertices(
            rest["rest_vertices"].expand(transforms.shape[0], -1, -1), transforms
        )
        keypoints = torch.einsum("kp,bpd->bkd", self.gather, vertices)
        heads = poses[..., :3, 3]
        return keypoints @ frame.T, heads @ frame.T

    def _rest_model(self, phenotypes: torch.Tensor) -> dict[str, torch.Tensor]:
        """Anny's rest skeleton for ``phenotypes``, reused while they are held fixed: it is the
        dearest part of a forward (an eigen-decomposition per bone), and the fitter's pose stage
        does not move it."""
        cached = self._rest_cache
        if (
            not phenotypes.requires_grad
            and cached is not None
            and cached[0].shape == phenotypes.shape
            and torch.equal(cached[0], phenotypes)
        ):
            return cached[1]
        coeffs = self.skeleton.get_phenotype_blendshape_coefficients(
            **{label: phenotypes[:, i] for i, label in enumerate(self.phenotype_labels)}
        )
        rest = self.skeleton.get_rest_model(coeffs)
        self._rest_cache = None if phenotypes.requires_grad else (phenotypes.clone(), rest)
        return rest

    @torch.no_grad()
    def vertices(self, rotmats: dict[str, torch.Tensor], phenotypes: torch.Tensor) -> torch.Tensor:
        """(B, 13718, 3) posed mesh, same frame and arguments as :meth:`forward`."""
        out = self.mesh(pose_parameters=self._deltas(rotmats, phenotypes.shape[0]), phenotype_kwargs=phenotypes)
        return out["vertices"] @ self.to_ours.T

    def rotmats_from_params(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Pose groups of AnnyBody-style parameters as rotation matrices (``global_orient`` excluded)."""
        return {g: as_rotmats(params[g], self.param_specs[g]) for g in self._group_index if g in params}
