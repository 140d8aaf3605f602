"""Named generation settings: the default for training sets and the fixed benchmark ``bench-v1``.

A preset is everything that decides the pixels and labels of a generated set besides its inputs
(background photos, motion files). ``bench-v1`` is frozen: changing anything it produces means a
new preset name, so numbers measured on it stay comparable across machines and releases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmr.synth.generate import SynthConfig

SYNTH_DATASET = "synth"
#: our own data: anny's assets are CC0 and every pixel is rendered by hmr
SYNTH_LICENSE = "hmr-synth-cc0-1.0"


@dataclass(frozen=True)
class Preset:
    name: str
    split: str
    num_images: int
    seed: int
    config: SynthConfig = SynthConfig()
    images_per_shard: int = 1000
    save_verts: bool = False
    save_masks: bool = False

    def settings(self, backgrounds: Sequence[Path] = (), motions: Sequence[Any] = ()) -> dict[str, Any]:
        """What the manifest records so a resumed or parallel run can be checked against it."""
        return {
            "preset": self.name,
            "num_images": self.num_images,
            "seed": self.seed,
            "images_per_shard": self.images_per_shard,
            "save_verts": self.save_verts,
            "save_masks": self.save_masks,
            "config": _jsonable(dataclasses.asdict(self.config)),
            "backgrounds": [str(p) for p in backgrounds],
            "motions": sorted({str(getattr(m, "source", m)) for m in motions}),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


#: the benchmark: 200 images at 640 x 480 with 1-6 people each, procedural backgrounds, seed 2026
BENCH_V1 = Preset(name="bench-v1", split="bench_v1", num_images=200, seed=2026, images_per_shard=200)
PRESETS = {BENCH_V1.name: BENCH_V1}


def default_preset(num_images: int, seed: int, **options: Any) -> Preset:
    """The training-set preset: ``--num-images`` and ``--seed`` as given, everything else default."""
    return Preset(name="default", split="train", num_images=num_images, seed=seed, **options)
