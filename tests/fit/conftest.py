"""Shared, session-scoped fit fixtures: one Anny pipeline and the shipped photos, fitted once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hmr.camera import intrinsics_from_fov

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: shipped photo -> number of clearly visible people in it
PHOTO_PEOPLE = {
    "lab_three_people.jpg": 3,
    "lab_two_people.jpg": 2,
    "outdoor_jump.jpg": 1,
    "astronaut.jpg": 1,
    "cameraman.jpg": 1,
}


def load_photo(name: str) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(Image.open(EXAMPLES / name).convert("RGB"))
    return image, intrinsics_from_fov(image.shape[1], image.shape[0], 60.0)


@pytest.fixture(scope="session")
def pipeline():
    from hmr.fit import FitPipeline

    return FitPipeline("anny")


@pytest.fixture(scope="session")
def fit_body(pipeline):
    return pipeline.fit_body


@pytest.fixture(scope="session")
def photo_results(pipeline):
    """name -> (image, K, ImageResult, detections) for every shipped photo."""
    out = {}
    for name in PHOTO_PEOPLE:
        image, K = load_photo(name)
        result, people = pipeline.predict_with_keypoints(image, K)
        out[name] = (image, K, result, people)
    return out
