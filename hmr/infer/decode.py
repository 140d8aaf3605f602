"""Network outputs -> posed bodies in the original image's camera frame (Multi-HMR's placement)."""

from __future__ import annotations

import numpy as np
import torch

from hmr.body.base import BodyModel
from hmr.geometry import head_position, place_bodies, project, rotmat_to_rotvec
from hmr.infer.preprocess import PreparedImage
from hmr.nn.network import RawPersons
from hmr.nn.outputs import OutputLayout, decode_body_params
from hmr.result import ImageResult, Person


def decode_persons(
    raw: RawPersons, layout: OutputLayout, body: BodyModel, images: list[PreparedImage]
) -> list[ImageResult]:
    """Turn a padded batch of raw persons into one :class:`ImageResult` per image."""
    batch_idx, slot_idx = torch.nonzero(raw.valid, as_tuple=True)
    decoded = {name: value[batch_idx, slot_idx] for name, value in raw.decoded.items()}
    params = decode_body_params(layout, decoded)
    K_net = torch.stack([torch.as_tensor(im.K_net, dtype=raw.loc_px.dtype) for im in images]).to(raw.loc_px.device)
    loc_px = raw.loc_px[batch_idx, slot_idx]
    head_cam = head_position(loc_px, raw.depth_m[batch_idx, slot_idx], K_net[batch_idx])
    if len(batch_idx):
        output = body(**params.body_params)
        verts_cam, joints_cam = place_bodies(
            output.vertices, output.joints, params.global_rotmat, head_cam, body.head_joint, body.pelvis_joint
        )
    rotvecs = rotmat_to_rotvec(params.rotmats)
    shapes = _person_shapes(body, rotvecs, params)
    results = [
        ImageResult(
            [],
            im.K_orig,
            im.letterbox.image_size,
            body.name,
            body.faces,
            list(layout.shape_names),
            person_shapes=shapes,
        )
        for im in images
    ]
    for n, (b, p) in enumerate(zip(batch_idx.tolist(), slot_idx.tolist())):
        image = images[b]
        K_orig = torch.as_tensor(image.K_orig, dtype=joints_cam.dtype, device=joints_cam.device)
        person_params = {
            name: _as_numpy(rotmat_to_rotvec(value[n]) if value.shape[-2:] == (3, 3) else value[n])
            for name, value in params.full_params.items()
        }
        results[b].persons.append(
            Person(
                score=float(raw.scores[b, p]),
                loc=image.letterbox.points_to_orig(_as_numpy(loc_px[n]).astype(np.float64)).astype(np.float32),
                transl=_as_numpy(head_cam[n]),
                transl_pelvis=_as_numpy(joints_cam[n, body.pelvis_joint]),
                rotvec=_as_numpy(rotvecs[n]),
                betas=_as_numpy(params.betas[n]),
                expression=_as_numpy(params.expression[n]),
                vertices=_as_numpy(verts_cam[n]),
                joints_3d=_as_numpy(joints_cam[n]),
                joints_2d=_as_numpy(project(joints_cam[n], K_orig)),
                params=person_params,
            )
        )
    for result in results:
        if not result.persons:
            result.message = "no person found above the detection threshold"
    return results


def _person_shapes(body: BodyModel, rotvecs: torch.Tensor, params) -> dict[str, tuple[int, ...]]:
    """Per-person trailing shapes of the outputs (see :func:`hmr.result.person_shapes`),
    read off the decoded tensors, which keep them with zero persons too."""
    num_vertices, num_joints = body.output_sizes()
    shapes = {
        "loc": (2,),
        "transl": (3,),
        "transl_pelvis": (3,),
        "rotvec": tuple(rotvecs.shape[1:]),
        "betas": tuple(params.betas.shape[1:]),
        "expression": tuple(params.expression.shape[1:]),
        "vertices": (num_vertices, 3),
        "joints_3d": (num_joints, 3),
        "joints_2d": (num_joints, 2),
    }
    for name, value in params.full_params.items():
        is_rotmat = value.shape[-2:] == (3, 3)
        shapes[f"param_{name}"] = tuple(value.shape[1:-2]) + (3,) if is_rotmat else tuple(value.shape[1:])
    return shapes


def _as_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()
