"""Run the PyTorch network on prepared images."""

from __future__ import annotations

import os
from typing import cast

import numpy as np
import torch

from hmr.body import load_body_model
from hmr.compat import load_network
from hmr.errors import HmrError
from hmr.infer.decode import decode_persons
from hmr.infer.preprocess import PreparedImage
from hmr.nn import HumanMeshNet
from hmr.result import ImageResult


class TorchBackend:
    """A loaded network plus its body model; ``dtype`` applies to the network, the body stays fp32."""

    def __init__(
        self,
        checkpoint: str | os.PathLike | HumanMeshNet,
        body_model: str | None = None,
        models_dir: str | os.PathLike | None = None,
        device: torch.device | str = "cpu",
        dtype: str = "float32",
    ) -> None:
        network = checkpoint if isinstance(checkpoint, HumanMeshNet) else load_network(checkpoint)
        body = load_body_model(body_model or network.config.body_model, models_dir=models_dir)
        if network.config.body_model != body.name:
            raise HmrError(
                f"this checkpoint predicts {network.config.body_model!r} bodies, not {body.name!r}; "
                f"pass --body-model {network.config.body_model}"
            )
        self.dtype = getattr(torch, dtype)
        self.network = network.to(device=device, dtype=self.dtype).eval()
        self.body = body.to(device).eval()
        self.device = torch.device(device)
        self.body_name, self.faces = body.name, body.faces

    @property
    def img_size(self) -> int:
        return self.network.config.img_size

    @torch.inference_mode()
    def predict_batch(self, images: list[PreparedImage], det_thresh: float, nms_kernel: int) -> list[ImageResult]:
        # images are prepared at the network size, so pixels and K_net are set
        pixels_np = cast("list[np.ndarray]", [im.pixels for im in images])
        K_net_np = cast("list[np.ndarray]", [im.K_net for im in images])
        pixels = torch.from_numpy(np.stack(pixels_np)).permute(0, 3, 1, 2).to(self.device)
        K_net = torch.from_numpy(np.stack(K_net_np)).to(self.device, torch.float32)
        raw = self.network(pixels, K_net.to(self.dtype), det_thresh, nms_kernel)
        raw.decoded = {k: v.float() for k, v in raw.decoded.items()}
        raw.loc_px, raw.depth_m, raw.scores = raw.loc_px.float(), raw.depth_m.float(), raw.scores.float()
        return decode_persons(raw, self.network.layout, self.body, images)
