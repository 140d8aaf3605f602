"""The Multi-HMR-compatible network: backbone -> detection -> Human Prediction Head -> decoders.

Attribute names (``backbone.encoder``, ``mlp_classif``, ``mlp_offset``, ``x_attention_head.*``,
``dec*``) are the released checkpoints' state-dict keys, so they load without renaming.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hmr.nn.backbone import Backbone
from hmr.nn.camera_embed import fourier_features, token_rays
from hmr.nn.config import PATCH_SIZE, NetConfig
from hmr.nn.detection import find_peaks, mlp, score_map_from_logits
from hmr.nn.hph import HumanPredictionHead
from hmr.nn.outputs import OutputLayout, output_layout

#: ImageNet statistics the DINOv2 backbone was trained with
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


@dataclass
class RawPersons:
    """Network outputs for a padded set of persons, ``(B, P, ...)`` with ``valid`` ``(B, P)``.

    ``loc_px`` is the person centre (head) in the S x S network-input frame; ``depth_m`` the head's
    distance along +z; ``decoded`` holds init + residual per decoder (``pose``, ``betas``, ``cam``,
    ``expression``...) before any body-model interpretation.
    """

    scores: torch.Tensor
    valid: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    offset: torch.Tensor
    loc_px: torch.Tensor
    depth_m: torch.Tensor
    decoded: dict[str, torch.Tensor]


class HumanMeshNet(nn.Module):
    """Image batch + intrinsics -> per-person raw parameters. Body-model decoding happens outside."""

    pixel_mean: torch.Tensor  # buffers, registered in __init__
    pixel_std: torch.Tensor

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.layout: OutputLayout = output_layout(config.body_model, config.num_betas)
        dim = config.embed_dim
        self.backbone = Backbone(config.backbone, config.img_size)
        self.mlp_classif = mlp(dim, 1)
        self.mlp_offset = mlp(dim, 2)
        self.x_attention_head = HumanPredictionHead(
            context_dim=dim + config.ray_dim,
            grid_size=config.grid_size,
            dim=config.hph_dim,
            depth=config.xat_depth,
            heads=config.xat_num_heads,
            head_dim=config.xat_head_dim,
            mlp_dim=config.hph_mlp_dim,
            init_values=self.layout.init_values(),
        )
        for name, size in self.layout.decoders.items():
            setattr(self.x_attention_head, f"dec{name}", nn.Linear(config.hph_dim, size))
        self.register_buffer("pixel_mean", torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1) * 255, persistent=False)
        self.register_buffer("pixel_std", torch.tensor(IMAGE_STD).view(1, 3, 1, 1) * 255, persistent=False)

    # -- stages, kept separate so exporters and tests can reach each one --------------------------

    def normalize(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` uint8 RGB -> ImageNet-normalised float."""
        return (images_uint8.to(self.pixel_mean.dtype) - self.pixel_mean) / self.pixel_std

    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """Backbone patch tokens ``(B, h*w, D)``."""
        return self.backbone(self.normalize(images_uint8))

    def score_map(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, h, w)`` person-centre probability per token."""
        grid = self.config.grid_size
        return score_map_from_logits(self.mlp_classif(tokens)[..., 0]).reshape(-1, grid, grid)

    def context(self, tokens: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        """Tokens ++ camera-ray features, ``(B, h*w, D + 99)``."""
        rays = token_rays(K.to(tokens.dtype), self.config.grid_size)
        ray_features = fourier_features(rays, self.config.num_bands, self.config.max_resolution)
        return torch.cat([tokens, ray_features.flatten(1, 2)], dim=-1)

    def predict_persons(
        self,
        tokens: torch.Tensor,
        K: torch.Tensor,
        scores: torch.Tensor,
        rows: torch.Tensor,
        cols: torch.Tensor,
        valid: torch.Tensor,
    ) -> RawPersons:
        """Run the head for persons at the given cells (``(B, P)`` each)."""
        grid = self.config.grid_size
        cell = (rows * grid + cols).clamp(0, grid * grid - 1)
        person_tokens = torch.gather(tokens, 1, cell[..., None].expand(-1, -1, tokens.shape[-1]))
        offset = self.mlp_offset(person_tokens)
        loc_px = (torch.stack([cols, rows], dim=-1).to(offset.dtype) + 0.5 + offset) * PATCH_SIZE
        head = self.x_attention_head
        hidden = head(self.context(tokens, K), rows, cols, valid)
        decoded = {
            name: getattr(head, f"dec{name}")(hidden) + getattr(head, f"init_{init}")
            for name, init in self.layout.decoder_inits.items()
        }
        depth_m = self._depth(decoded["cam"][..., 0], K)
        return RawPersons(scores, valid, rows, cols, offset, loc_px, depth_m, decoded)

    def _depth(self, cam0: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        """Metric depth from the log-depth output, rescaled by the true focal length.

        The network reasons as if the camera had a 60 deg FOV over S; ``f / f_n`` makes the
        output follow the actual focal length.
        """
        f_nominal = self.config.img_size / (2 * torch.tan(torch.deg2rad(torch.tensor(30.0, dtype=cam0.dtype))))
        depth = torch.exp(cam0 * K[:, None, 0, 0].to(cam0.dtype) / f_nominal) - 1e-10
        return depth.clamp(0.0, 50.0) if self.config.clip_dist else depth

    def forward(
        self, images_uint8: torch.Tensor, K: torch.Tensor, det_thresh: float = 0.3, nms_kernel: int = 3
    ) -> RawPersons:
        """Detect and predict every person: ``(B, 3, S, S)`` uint8, ``K (B, 3, 3)`` of the S x S frame."""
        tokens = self.encode(images_uint8)
        score_map = self.score_map(tokens)
        peaks = find_peaks(score_map, det_thresh, nms_kernel)
        rows, cols, valid = pack_peaks(peaks, images_uint8.shape[0])
        scores = score_map[torch.arange(len(rows))[:, None], rows, cols] * valid
        return self.predict_persons(tokens, K, scores, rows, cols, valid)


def pack_peaks(peaks: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(N, 3)`` (batch, row, col) peaks -> padded ``(B, P)`` rows, cols and validity mask."""
    counts = (
        torch.bincount(peaks[:, 0], minlength=batch_size) if len(peaks) else torch.zeros(batch_size, dtype=torch.long)
    )
    max_persons = max(int(counts.max()) if batch_size else 0, 1)
    rows = torch.zeros(batch_size, max_persons, dtype=torch.long, device=peaks.device)
    cols = torch.zeros_like(rows)
    valid = torch.zeros(batch_size, max_persons, dtype=torch.bool, device=peaks.device)
    slot = torch.zeros(batch_size, dtype=torch.long)
    for b, r, c in peaks.tolist():
        rows[b, slot[b]], cols[b, slot[b]], valid[b, slot[b]] = r, c, True
        slot[b] += 1
    return rows, cols, valid
