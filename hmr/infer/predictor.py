"""``hmr.Predictor``: the one facade the CLI, the demo, the video pipeline and users share."""
from __future__ import annotations

import os
from pathlib import Path
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
from tqdm import tqdm

from hmr.errors import HmrError
from hmr.infer.preprocess import ImageInput, PreparedImage, prepare
from hmr.infer.result import ImageResult

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
NO_CHECKPOINT_HELP = ("no checkpoint given: pass --checkpoint with a Multi-HMR .pt or an hmr .safetensors file "
                      "(see weights/README.md)")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA when available; asking for an absent CUDA is a clear error, not a crash."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise HmrError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise HmrError(f"device {device!r} requested but CUDA is not available; use --device cpu")
    return resolved


@dataclass
class FileResult:
    """Outcome for one input file: a result and the image to draw on, or the error that skipped it."""

    path: Path
    result: ImageResult | None = None
    display: np.ndarray | None = None  # RGB image to draw overlays on
    K_display: np.ndarray | None = None  # intrinsics of ``display`` (differs from K for huge images)
    error: str = ""


class Predictor:
    """Images in, persons out (camera frame of each original image, metres).

    ``checkpoint``: a Multi-HMR ``.pt``, our ``.safetensors``, or a loaded ``HumanMeshNet``.
    ``body_model`` defaults to the one the checkpoint predicts.
    """

    def __init__(self, checkpoint: str | os.PathLike | None = None, body_model: str | None = None,
                 models_dir: str | os.PathLike | None = None, device: str | torch.device = "auto",
                 dtype: str | torch.dtype = "float32", backend: str = "torch", batch_size: int = 4) -> None:
        from hmr.body import load_body_model

        self.device = resolve_device(device)
        self.dtype = DTYPES[dtype] if isinstance(dtype, str) else dtype
        self.batch_size = max(1, int(batch_size))
        if backend != "torch":
            raise HmrError(f"unknown backend {backend!r}; use torch")
        if checkpoint is None:
            raise HmrError(NO_CHECKPOINT_HELP)
        from hmr.infer.torch_backend import TorchBackend
        from hmr.nn import HumanMeshNet, load_network

        network = checkpoint if isinstance(checkpoint, HumanMeshNet) else load_network(checkpoint)
        body = load_body_model(body_model or network.config.body_model, models_dir=models_dir)
        self.backend = TorchBackend(network, body, self.device, self.dtype)
        self.body_model = body.name

    @property
    def faces(self) -> np.ndarray:
        return self.backend.body.faces

    def predict(self, images: ImageInput | Sequence[ImageInput], K: np.ndarray | Sequence[np.ndarray] | None = None,
                fov: float | None = None, det_thresh: float = 0.3, nms_kernel: int = 3,
                progress: bool = False) -> ImageResult | list[ImageResult]:
        """Persons in one image (returns an ``ImageResult``) or in a list of images (returns a list).

        ``K`` is the original image's 3x3 intrinsics (one for all, or one per image); without it
        ``fov`` degrees (default 60) across the longer side. Images are batched ``batch_size`` at a time.
        """
        single = not isinstance(images, (list, tuple))
        image_list = [images] if single else list(images)
        K_list = _per_image_K(K, len(image_list))
        _check_detection_args(det_thresh, nms_kernel)
        results: list[ImageResult] = []
        with tqdm(total=len(image_list), unit="img", disable=not progress) as bar:
            for start in range(0, len(image_list), self.batch_size):
                chunk = [self.prepare(im, K_list[start + i], fov)
                         for i, im in enumerate(image_list[start:start + self.batch_size])]
                results.extend(self.backend.predict_batch(chunk, det_thresh, nms_kernel))
                bar.update(len(chunk))
        return results[0] if single else results

    def prepare(self, image: ImageInput, K: np.ndarray | None = None, fov: float | None = None) -> PreparedImage:
        return prepare(image, self.backend.img_size, K, fov, _name_of(image))

    def predict_files(self, paths: Sequence[str | os.PathLike], K: np.ndarray | None = None,
                      fov: float | None = None, det_thresh: float = 0.3, nms_kernel: int = 3,
                      progress: bool = False) -> Iterator[FileResult]:
        """Like :meth:`predict` over files, but a file that cannot be read is yielded with its error
        instead of stopping the batch; results come in input order as soon as their batch is done."""
        _check_detection_args(det_thresh, nms_kernel)
        pending: list[tuple[Path, PreparedImage]] = []
        with tqdm(total=len(paths), unit="img", disable=not progress) as bar:
            for index, path in enumerate(paths):
                try:
                    pending.append((Path(path), self.prepare(path, K, fov)))
                except HmrError as exc:
                    yield from self._run_pending(pending, det_thresh, nms_kernel, bar)
                    pending = []
                    bar.update(1)
                    yield FileResult(Path(path), error=str(exc))
                    continue
                if len(pending) == self.batch_size or index == len(paths) - 1:
                    yield from self._run_pending(pending, det_thresh, nms_kernel, bar)
                    pending = []

    def _run_pending(self, pending: list[tuple[Path, PreparedImage]], det_thresh: float, nms_kernel: int,
                     bar: tqdm) -> Iterator[FileResult]:
        if not pending:
            return
        results = self.backend.predict_batch([prepared for _, prepared in pending], det_thresh, nms_kernel)
        bar.update(len(pending))
        for (path, prepared), result in zip(pending, results):
            yield FileResult(path, result, prepared.display, prepared.K_display)


def _per_image_K(K, count: int) -> list[np.ndarray | None]:
    if K is None:
        return [None] * count
    array = np.asarray(K, np.float64)
    if array.shape == (3, 3):
        return [array] * count
    if array.shape == (count, 3, 3):
        return list(array)
    raise HmrError(f"K must be 3x3 or one 3x3 per image ({count}), got shape {array.shape}")


def _check_detection_args(det_thresh: float, nms_kernel: int) -> None:
    if not 0.0 <= det_thresh <= 1.0:
        raise HmrError(f"det_thresh must be in [0, 1], got {det_thresh}")
    if nms_kernel < 1 or nms_kernel % 2 == 0:
        raise HmrError(f"nms kernel must be an odd integer >= 1, got {nms_kernel}")


def _name_of(image: ImageInput) -> str:
    return Path(image).stem if isinstance(image, (str, os.PathLike)) else ""
