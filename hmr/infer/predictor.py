"""``hmr.Predictor``: the one facade the CLI, the demo, the video pipeline and users share."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from tqdm import tqdm

from hmr.errors import HmrError
from hmr.infer.preprocess import ImageInput, PreparedImage, prepare
from hmr.result import ImageResult

if TYPE_CHECKING:
    from hmr.infer.fit_backend import FitBackend
    from hmr.infer.onnx_backend import OnnxBackend
    from hmr.infer.torch_backend import TorchBackend

DTYPES = ("float32", "float16", "bfloat16")
BACKENDS = ("torch", "onnx")


def resolve_device(device="auto"):
    """``auto`` picks CUDA when available; asking for an absent CUDA is a clear error, not a crash."""
    import torch

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

    ``checkpoint``: a Multi-HMR ``.pt``, our ``.safetensors``, or a loaded ``HumanMeshNet``; without one,
    the open keypoint-fitting pipeline (:mod:`hmr.fit`) runs, with the Anny body by default.
    ``body_model`` defaults to the one the checkpoint predicts. ``refine`` polishes a network's
    2D alignment with the fitter.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike | None = None,
        body_model: str | None = None,
        models_dir: str | os.PathLike | None = None,
        device: str = "auto",
        dtype: str = "float32",
        backend: str = "torch",
        batch_size: int = 4,
        refine: bool = False,
        onnx_path: str | os.PathLike | None = None,
    ) -> None:
        self.batch_size = max(1, int(batch_size))
        self.backend: OnnxBackend | FitBackend | TorchBackend
        if backend not in BACKENDS:
            raise HmrError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        if backend == "onnx":
            checkpoint = onnx_path or checkpoint
            if checkpoint is None:
                raise HmrError("--backend onnx needs --checkpoint MODEL.onnx (made by `hmr export onnx`)")
            from hmr.infer.onnx_backend import OnnxBackend

            self.backend = OnnxBackend(checkpoint, device=str(device), body_model=body_model, models_dir=models_dir)
        elif checkpoint is None:
            if refine:
                raise HmrError("--refine improves a network's prediction: pass --checkpoint too")
            from hmr.infer.fit_backend import FitBackend

            self.backend = FitBackend(body_model or "anny", models_dir)
        else:
            from hmr.infer.torch_backend import TorchBackend

            if dtype not in DTYPES:
                raise HmrError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
            self.backend = TorchBackend(checkpoint, body_model, models_dir, resolve_device(device), dtype)
        self.refiner = None
        if refine:
            from hmr.infer.fit_backend import FitBackend

            self.refiner = FitBackend(self.backend.body_name, models_dir)
        self.body_model = self.backend.body_name

    def _run(self, images: list[PreparedImage], det_thresh: float, nms_kernel: int) -> list[ImageResult]:
        results = self.backend.predict_batch(images, det_thresh, nms_kernel)
        return self.refiner.refine(images, results) if self.refiner is not None else results

    @property
    def faces(self) -> np.ndarray:
        return self.backend.faces

    @property
    def body(self):
        """The body model (:class:`hmr.body.BodyModel`) behind the results, or None when it lives inside an
        ONNX graph."""
        return self.backend.body

    @property
    def device(self) -> str:
        """Where the model runs: a torch device, or the ONNX Runtime execution provider in use."""
        return str(self.backend.device)

    @property
    def param_specs(self) -> dict:
        """The body model's parameter blocks (name -> :class:`hmr.body.ParamSpec`), e.g. to smooth each right."""
        from hmr.body import param_layout  # hmr.body needs torch, which ONNX-only installs may lack

        return dict(param_layout(self.body_model))

    def predict(
        self,
        images: ImageInput | Sequence[ImageInput],
        K: np.ndarray | Sequence[np.ndarray] | None = None,
        fov: float | None = None,
        det_thresh: float = 0.3,
        nms_kernel: int = 3,
        progress: bool = False,
    ) -> ImageResult | list[ImageResult]:
        """Persons in one image (returns an ``ImageResult``) or in a list of images (returns a list).

        ``K`` is the original image's 3x3 intrinsics (one for all, or one per image); without it
        ``fov`` degrees (default 60) across the longer side. Images are batched ``batch_size`` at a time.
        """
        single = not isinstance(images, (list, tuple))
        # anything but a list or tuple is one image (a str is a Sequence too)
        image_list = [cast("ImageInput", images)] if single else list(cast("Sequence[ImageInput]", images))
        K_list = _per_image_K(K, len(image_list))
        _check_detection_args(det_thresh, nms_kernel)
        results: list[ImageResult] = []
        with tqdm(total=len(image_list), unit="img", disable=not progress) as bar:
            for start in range(0, len(image_list), self.batch_size):
                chunk = [
                    self.prepare(im, K_list[start + i], fov)
                    for i, im in enumerate(image_list[start : start + self.batch_size])
                ]
                results.extend(self._run(chunk, det_thresh, nms_kernel))
                bar.update(len(chunk))
        return results[0] if single else results

    def prepare(self, image: ImageInput, K: np.ndarray | None = None, fov: float | None = None) -> PreparedImage:
        return prepare(image, self.backend.img_size, K, fov, _name_of(image))

    def predict_files(
        self,
        paths: Sequence[str | os.PathLike],
        K: np.ndarray | None = None,
        fov: float | None = None,
        det_thresh: float = 0.3,
        nms_kernel: int = 3,
        progress: bool = False,
    ) -> Iterator[FileResult]:
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

    def _run_pending(
        self, pending: list[tuple[Path, PreparedImage]], det_thresh: float, nms_kernel: int, bar: tqdm
    ) -> Iterator[FileResult]:
        if not pending:
            return
        results = self._run([prepared for _, prepared in pending], det_thresh, nms_kernel)
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
