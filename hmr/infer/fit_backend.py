"""The open default backend: keypoints + body fitting (``hmr.fit``), no trained weights needed.

It also refines a network's results (``--refine``). The fitter works on the image as decoded
(a downscaled copy for huge photos); results are mapped back to the original image's pixels.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import cast

import numpy as np

from hmr.body.anny_body import anny_build_cached
from hmr.camera import project
from hmr.fit import FitPipeline
from hmr.infer.preprocess import PreparedImage
from hmr.result import ImageResult

log = logging.getLogger("hmr")


class FitBackend:
    """Run :class:`hmr.fit.FitPipeline` image by image (it batches over the persons of an image)."""

    img_size = None  # works on whole images: no letterboxed network input
    device = "cpu"  # a few hundred small tensors: faster on one CPU thread than anywhere else

    def __init__(self, body_model: str = "anny", models_dir: str | os.PathLike | None = None) -> None:
        if body_model == "anny" and not anny_build_cached():
            log.info(
                "building the Anny body model from its bundled assets (first use only: about 2 min; cached "
                "in $ANNY_CACHE_DIR, default ~/.cache/anny)"
            )
        self.pipeline = FitPipeline(body_model=body_model, models_dir=models_dir)
        self.body = self.pipeline.body
        self.body_name, self.faces = self.body.name, self.body.faces

    def predict_batch(self, images: list[PreparedImage], det_thresh: float, nms_kernel: int) -> list[ImageResult]:
        """``det_thresh`` and ``nms_kernel`` belong to the network; the keypoint detector has its own."""
        return [to_original(self.pipeline.predict(im.display, im.K_display), im) for im in images]

    def refine(self, images: list[PreparedImage], results: list[ImageResult]) -> list[ImageResult]:
        refined = []
        for image, result in zip(images, results):
            in_display = reframe(result, image.K_display, image.display.shape[1::-1])
            refined.append(to_original(self.pipeline.refine(image.display, image.K_display, in_display), image))
        return refined


def to_original(result: ImageResult, image: PreparedImage) -> ImageResult:
    return reframe(result, image.K_orig, image.image_size)


def reframe(result: ImageResult, K: np.ndarray, image_size: tuple[int, int]) -> ImageResult:
    """The same persons seen in a rescaled copy of the image with intrinsics ``K``: 3D outputs are
    unchanged (same camera), pixel outputs are mapped."""
    K_old = np.asarray(result.K, np.float64)
    K = np.asarray(K, np.float64)
    if np.allclose(K_old, K) and tuple(result.image_size) == tuple(image_size):
        return result
    scale = np.array([K[0, 0] / K_old[0, 0], K[1, 1] / K_old[1, 1]])
    persons = []
    for person in result.persons:
        persons.append(
            dataclasses.replace(
                person,
                joints_2d=project(person.joints_3d, K).astype(np.float32),
                loc=((person.loc - K_old[:2, 2]) * scale + K[:2, 2]).astype(np.float32),
            )
        )
    size = cast("tuple[int, int]", tuple(int(v) for v in image_size))
    return dataclasses.replace(result, persons=persons, K=K, image_size=size)
