"""Per-token camera rays and their Fourier features (Multi-HMR's "geometric" camera embedding)."""

from __future__ import annotations

import torch

from hmr.nn.config import PATCH_SIZE


def token_rays(K: torch.Tensor, grid_size: int) -> torch.Tensor:
    """Camera ray through the centre of each patch, ``K (B, 3, 3) -> (B, h, w, 3)``.

    Ray of token (row i, col j) is ``((i*14+7-cx)/fx, (j*14+7-cy)/fy, 1)``: the ROW index goes with
    x. That is a quirk of the reference implementation that released weights were trained with;
    keep it. Computed analytically (no matrix inverse) so it exports cleanly to ONNX.
    """
    centres = torch.arange(grid_size, device=K.device, dtype=K.dtype) * PATCH_SIZE + PATCH_SIZE / 2
    fx, fy = K[:, 0, 0, None, None], K[:, 1, 1, None, None]
    cx, cy = K[:, 0, 2, None, None], K[:, 1, 2, None, None]
    rows = centres[None, :, None].expand(K.shape[0], grid_size, grid_size)
    cols = centres[None, None, :].expand(K.shape[0], grid_size, grid_size)
    ray_x = (rows - cx) / fx
    ray_y = (cols - cy) / fy
    return torch.stack([ray_x, ray_y, torch.ones_like(ray_x)], dim=-1)


def fourier_features(rays: torch.Tensor, num_bands: int = 16, max_resolution: int = 64) -> torch.Tensor:
    """``(..., 3) -> (..., 3 + 6*num_bands)``: ``[ray, sin(pi f ray), cos(pi f ray)]``, axis-major.

    Frequencies are ``linspace(1, max_resolution / 2, num_bands)``.
    """
    freqs = torch.linspace(1.0, max_resolution / 2, num_bands, device=rays.device, dtype=rays.dtype)
    angles = (rays[..., None] * freqs * torch.pi).flatten(-2)  # (..., 3 * num_bands), axis-major
    return torch.cat([rays, angles.sin(), angles.cos()], dim=-1)
