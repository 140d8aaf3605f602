"""Tiny 4D-Humans WebDataset shards: jpg + data.pyd (pickled list of per-person dicts)."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from data_sources.bodies import jpeg


class Evil:
    """Unpickling this would run code; the converter must refuse it."""

    def __reduce__(self):
        return (print, ("pwned",))


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_4dhumans(root: Path, seed: int = 0, evil_key: str | None = None) -> dict:
    rng = np.random.default_rng(seed)
    expected = {}
    for shard_name, keys in (
        ("coco-train-2014-pruned/000000.tar", ["000000000036", "000000000049"]),
        ("mpii-train/000000.tar", ["015601864"]),
    ):
        path = root / shard_name
        path.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(path, "w") as tar:
            for key in keys:
                people = []
                for _ in range(1 + len(key) % 2):
                    people.append(
                        {
                            "keypoints_2d": np.concatenate(
                                [rng.uniform(0, 60, (44, 2)), rng.integers(0, 2, (44, 1))], 1
                            ).astype(np.float32),
                            "keypoints_3d": np.zeros((44, 4), np.float32),
                            "center": np.array([30.0, 25.0], np.float32),
                            "scale": np.array([0.2, 0.2], np.float32),
                            "body_pose": rng.normal(0, 0.2, 72).astype(np.float32),
                            "betas": rng.normal(0, 1, 10).astype(np.float32),
                            "has_body_pose": np.float32(1.0),
                            "has_betas": np.float32(1.0),
                            "extra_info": {"fitting_loss": np.float32(0.1)},
                        }
                    )
                payload = pickle.dumps([*people, Evil()] if key == evil_key else people)
                _add(tar, f"{key}.jpg", jpeg(64, 50, int(key) % 1000))
                _add(tar, f"{key}.data.pyd", payload)
                expected[f"4dhumans/train/{shard_name[:-4].replace('/', '__').replace('-', '-')}__{key}"] = people
    return expected
