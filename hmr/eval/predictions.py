"""Predictions to evaluate: a folder of ``hmr predict`` ``.npz`` files, or a Predictor run (cached).

A prediction file belongs to the dataset image whose key it stores (``image_key``) or, failing
that, whose key its file name spells with ``/`` replaced by ``__`` (what ``--save-predictions``
and the evaluation cache write). Predictor runs are cached the same way, one file per image
written atomically, so an interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hmr.atomic import atomic_path
from hmr.errors import HmrError

#: arrays a prediction file must hold for evaluation
REQUIRED_KEYS = ("scores", "joints_3d", "joints_2d", "K", "body_model")


def file_name(image_key: str) -> str:
    return image_key.replace("/", "__") + ".npz"


def read_prediction(path: Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise HmrError(f"{path}: not a readable .npz prediction ({e})") from None
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise HmrError(f"{path}: prediction lacks {', '.join(missing)}; write it with hmr predict --save-npz")
    arrays["body_model"] = str(arrays["body_model"])
    return arrays


class PredictionFolder:
    """``.npz`` predictions indexed by image key."""

    def __init__(self, folder: str | Path, image_keys: list[str]) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise HmrError(f"--predictions {self.folder} is not a folder of .npz files")
        known = set(image_keys)
        by_name = {file_name(k): k for k in image_keys}
        self.files: dict[str, Path] = {}
        unknown = []
        for path in sorted(self.folder.glob("*.npz")):
            key = self._stored_key(path) or by_name.get(path.name) or path.stem.replace("__", "/")
            if key not in known:
                unknown.append(path.name)
                continue
            self.files[key] = path
        if unknown:
            raise HmrError(
                f"{len(unknown)} prediction files match no image of the dataset (first: {unknown[0]}); "
                "pass the predictions made for this dataset and split"
            )
        absent = [k for k in image_keys if k not in self.files]
        if absent:
            raise HmrError(
                f"{len(absent)} of {len(image_keys)} images have no prediction file (first: {absent[0]}, "
                f"expected {file_name(absent[0])}); predict every image, or evaluate with --split"
            )

    @staticmethod
    def _stored_key(path: Path) -> str | None:
        try:
            with np.load(path, allow_pickle=False) as data:
                return str(data["image_key"]) if "image_key" in data.files else None
        except (OSError, ValueError):
            return None

    def get(self, image_key: str) -> dict[str, Any]:
        return read_prediction(self.files[image_key])


def cached_predictions(
    predictor: Any, samples: Iterator[dict[str, Any]], cache_dir: Path, det_thresh: float = 0.3
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(sample, prediction) per dataset sample, from the cache when an earlier run made it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        path = cache_dir / file_name(sample["image_key"])
        if not path.exists():
            result = predictor.predict(sample["image"], K=sample["K"], det_thresh=det_thresh)
            stacked = result.stacked()
            stacked["image_key"] = np.asarray(sample["image_key"])
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, **stacked)
        yield sample, read_prediction(path)
