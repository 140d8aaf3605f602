"""Accept rotation parameters either as axis-angle or as rotation matrices.

Networks decode rotations as matrices (6D -> Gram-Schmidt); converting those to axis-angle and
back loses precision near pi, so every adapter takes matrices as they are. Users and datasets
speak axis-angle, so rotvecs are accepted too.
"""

from __future__ import annotations

import math

import torch

from hmr.body.base import ParamSpec
from hmr.geometry import rotvec_to_rotmat


def as_rotmats(value: torch.Tensor, spec: ParamSpec) -> torch.Tensor:
    """Rotations of a ``rotvec`` parameter as matrices, ``(B, N, 3, 3)``.

    ``spec.shape`` is ``(3,)`` or ``(N, 3)``. Accepted inputs, with a leading batch dimension B:
    axis-angle ``(B, *spec.shape)`` or flattened ``(B, 3N)``, or matrices ``(B, N, 3, 3)``
    (``(B, 3, 3)`` when N is 1).
    """
    n_rot = math.prod(spec.shape) // 3
    if value.ndim < 2:
        raise ValueError(f"{spec.name}: expected a batch of rotations, got shape {tuple(value.shape)}")
    tail = tuple(value.shape[1:])
    if tail == spec.shape or tail == (3 * n_rot,):
        return rotvec_to_rotmat(value.reshape(value.shape[0], n_rot, 3))
    if tail[-2:] == (3, 3) and math.prod(tail[:-2]) == n_rot:
        return value.reshape(value.shape[0], n_rot, 3, 3)
    raise ValueError(
        f"{spec.name}: expected axis-angle (B, {', '.join(map(str, spec.shape))}) or rotation matrices "
        f"(B, {n_rot}, 3, 3), got {tuple(value.shape)}"
    )


def batch_size_of(params: dict[str, torch.Tensor]) -> int:
    """The common leading dimension of the given parameters (1 when none are given)."""
    sizes = {int(v.shape[0]) for v in params.values()}
    if len(sizes) > 1:
        raise ValueError(f"parameters disagree on the batch size: {sorted(sizes)}")
    return sizes.pop() if sizes else 1
