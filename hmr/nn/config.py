"""Network configurations as data, in a registry (timm-style): a name picks backbone size and resolution.

A Multi-HMR checkpoint's ``args`` maps onto the same :class:`NetConfig`, so our own configs and
imported ones build the very same module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hmr.errors import HmrError

PATCH_SIZE = 14

#: backbone name -> (timm architecture, embedding width, timm overrides)
BACKBONES: dict[str, tuple[str, int, dict]] = {
    "dinov2_vits14": ("vit_small_patch14_dinov2", 384, {}),
    "dinov2_vitb14": ("vit_base_patch14_dinov2", 768, {}),
    "dinov2_vitl14": ("vit_large_patch14_dinov2", 1024, {}),
    "dinov2_vitg14": ("vit_giant_patch14_dinov2", 1536, {}),
    # Two-block, 64-wide ViT with DINOv2's layout: for tests, CI and export checks only; never a default.
    "test_vitt14": ("vit_small_patch14_dinov2", 64, {"embed_dim": 64, "depth": 2, "num_heads": 2}),
}


@dataclass(frozen=True)
class NetConfig:
    """Everything needed to build the network; serialised as JSON beside our safetensors weights."""

    backbone: str = "dinov2_vits14"
    img_size: int = 448
    body_model: str = "smplx"
    num_betas: int = 10
    xat_depth: int = 2
    xat_num_heads: int = 8
    xat_head_dim: int = 32
    hph_dim: int = 1024
    hph_mlp_dim: int = 1024
    num_bands: int = 16
    max_resolution: int = 64
    clip_dist: bool = True

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise HmrError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONES)}")
        if self.img_size <= 0 or self.img_size % PATCH_SIZE:
            raise HmrError(f"img_size must be a positive multiple of {PATCH_SIZE}, got {self.img_size}")

    @property
    def grid_size(self) -> int:
        return self.img_size // PATCH_SIZE

    @property
    def embed_dim(self) -> int:
        return BACKBONES[self.backbone][1]

    @property
    def ray_dim(self) -> int:
        return 3 + 2 * 3 * self.num_bands

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> NetConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise HmrError(f"network config has unknown fields {sorted(unknown)}; is this an hmr config file?")
        return cls(**values)


CONFIGS: dict[str, NetConfig] = {
    "vits14-448": NetConfig("dinov2_vits14", 448),
    "vits14-672": NetConfig("dinov2_vits14", 672),
    "vitb14-448": NetConfig("dinov2_vitb14", 448),
    "vitb14-672": NetConfig("dinov2_vitb14", 672),
    "vitl14-672": NetConfig("dinov2_vitl14", 672),
    "vitl14-896": NetConfig("dinov2_vitl14", 896),
    "vitl14-1288": NetConfig("dinov2_vitl14", 1288),
    "test-tiny-112": NetConfig("test_vitt14", 112, xat_depth=1, xat_num_heads=2, hph_dim=64, hph_mlp_dim=64),
}


def get_config(name: str, **overrides) -> NetConfig:
    """A registered config, optionally with fields replaced (``body_model="anny"``, ``img_size=224``)."""
    if name not in CONFIGS:
        raise HmrError(f"unknown network config {name!r}; choose one of {', '.join(CONFIGS)}")
    return dataclasses.replace(CONFIGS[name], **overrides)
