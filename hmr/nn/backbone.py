"""DINOv2 ViT backbone from timm, returning normalised patch tokens (no class token)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import timm
import torch
import torch.nn.functional as F

from hmr.nn.config import BACKBONES, PATCH_SIZE

if TYPE_CHECKING:
    from timm.models.vision_transformer import VisionTransformer


class Backbone(torch.nn.Module):
    """Patch tokens of the last block after the final LayerNorm, ``(B, h*w, D)``.

    timm's ``vit_*_patch14_dinov2`` with ``init_values=1.0`` has exactly DINOv2's parameters (LayerScale,
    no registers), so released ``backbone.encoder.*`` weights load as they are.
    """

    def __init__(self, name: str, img_size: int) -> None:
        super().__init__()
        arch, _, overrides = BACKBONES[name]
        # every entry of BACKBONES is a timm ViT; create_model is typed as returning a bare nn.Module
        self.encoder = cast(
            "VisionTransformer",
            timm.create_model(arch, pretrained=False, img_size=img_size, init_values=1.0, num_classes=0, **overrides),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.encoder.forward_features(images)
        return tokens[:, self.encoder.num_prefix_tokens :]


def resample_dinov2_pos_embed(pos_embed: torch.Tensor, img_size: int) -> torch.Tensor:
    """Resize a ``(1, 1 + 37*37, D)`` DINOv2 position embedding to ``img_size``.

    DINOv2 interpolates on the fly with bicubic, ``scale_factor = (S/14 + 0.1) / 37`` and no
    antialiasing; the weights were trained with exactly that, and timm's own resampling differs
    by up to 5e-2, so we reproduce it once per resolution. ``-> (1, 1 + (S/14)^2, D)``.
    """
    grid = img_size // PATCH_SIZE
    cls_embed, patch_embed = pos_embed[:, :1], pos_embed[:, 1:]
    src = int(round(patch_embed.shape[1] ** 0.5))
    if src == grid:
        return pos_embed.clone()
    dim = patch_embed.shape[-1]
    patch_grid = patch_embed.reshape(1, src, src, dim).permute(0, 3, 1, 2)
    scale = (grid + 0.1) / src
    resized = F.interpolate(patch_grid.float(), scale_factor=(scale, scale), mode="bicubic", antialias=False)
    resized = resized.to(pos_embed.dtype).permute(0, 2, 3, 1).reshape(1, grid * grid, dim)
    return torch.cat([cls_embed, resized], dim=1)
