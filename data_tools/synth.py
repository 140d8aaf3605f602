"""``hmr-data synth``: generated people written in the unified format, resumable and shardable.

Images are grouped into fixed blocks of ``images_per_shard`` consecutive indices, and block ``b``
is tar shard ``<split>-<b>``. Part ``I`` of ``K`` (``--shard-index I --num-shards K``) makes the
blocks with ``b % K == I``, so any scheduler (a Slurm array, Ray, Kubernetes jobs) can run the
parts side by side into one folder, and together they hold exactly the images one run would
make: an image depends on (seed, index) only (:mod:`hmr.synth.generate`). A block is committed
as a unit, so a killed run resumes after its last complete block.

The generation itself runs through the converters' worker pool (:func:`data_tools.driver.results_in_order`):
synthesis is a converter whose source items are image indices.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from data_tools.base import Context, ConvertedImage, Converter, SourceItem
from data_tools.driver import results_in_order
from data_tools.images import StoredImage
from hmr.data.layout import DatasetLayout, shard_stem
from hmr.data.manifest import write_manifest
from hmr.data.writer import SplitWriter
from hmr.errors import HmrError
from hmr.synth.presets import SYNTH_DATASET, SYNTH_LICENSE, Preset

if TYPE_CHECKING:
    from hmr.synth.generate import Generator

MASK_MEMBER = "mask.png"
META_MEMBER = "synth.json"


@dataclass
class SynthReport:
    out_dir: Path
    generated: int = 0
    already_done: int = 0
    persons: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (image or input file, one-line reason)


class SynthSource(Converter):
    """Synthesis as a converter: item = image index; the generator is built once per process."""

    name = SYNTH_DATASET
    license_tag = SYNTH_LICENSE
    description = "synthetic Anny people (hmr-data synth)"

    def __init__(self, preset: Preset, backgrounds: Sequence[Path], motions: Sequence[Any]) -> None:
        self.preset, self.backgrounds, self.motions = preset, list(backgrounds), list(motions)
        self._generator: Generator | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_generator": None}  # each worker builds its own

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        if self._generator is None:
            from hmr.synth.generate import Generator

            p = self.preset
            self._generator = Generator(p.config, p.seed, self.backgrounds, self.motions, p.save_verts, p.save_masks)
        made = self._generator.image(item.payload["index"])
        w, h = self.preset.config.width, self.preset.config.height
        extra = {META_MEMBER: json.dumps(made.meta).encode()}
        if made.instance_png is not None:
            extra[MASK_MEMBER] = made.instance_png
        return ConvertedImage(StoredImage(made.jpeg, "jpg", w, h, w, h), made.K, made.persons, extra)


def image_id(index: int) -> str:
    return f"{index:09d}"


def my_blocks(num_images: int, images_per_shard: int, shard_index: int, num_shards: int) -> list[int]:
    """The blocks part ``shard_index`` of ``num_shards`` makes."""
    return [b for b in range(math.ceil(num_images / images_per_shard)) if b % num_shards == shard_index]


def _check_same_settings(layout: DatasetLayout, split: str, settings: dict[str, Any]) -> None:
    """Refuse to add to a split that was generated with other settings (the images would not match)."""
    if not layout.manifest.exists():
        return
    old = json.loads(layout.manifest.read_text()).get("synth", {}).get(split)
    if old is not None and old != settings:
        changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        raise HmrError(
            f"{layout.dir} split '{split}' was generated with other settings ({', '.join(changed)} differ); "
            "use the same options to resume, or another --out"
        )


def run_synth(
    out: str | Path,
    preset: Preset,
    shard_index: int = 0,
    num_shards: int = 1,
    workers: int = 1,
    backgrounds: Sequence[Path] = (),
    motions: Sequence[Any] = (),
    input_failures: Sequence[tuple[str, str]] = (),
    quiet: bool = False,
) -> SynthReport:
    """Generate this part's blocks of ``preset`` into ``out/synth/``; a rerun continues."""
    if not 0 <= shard_index < num_shards:
        raise HmrError(f"--shard-index {shard_index} must lie in 0..{num_shards - 1} (--num-shards {num_shards})")
    layout = DatasetLayout(out, SYNTH_DATASET)
    split = preset.split
    settings = preset.settings(backgrounds, motions)
    _check_same_settings(layout, split, settings)
    report = SynthReport(layout.dir, failed=list(input_failures))
    source = SynthSource(preset, backgrounds, motions)
    done = set(layout.stems(split))
    blocks = my_blocks(preset.num_images, preset.images_per_shard, shard_index, num_shards)
    todo_blocks = [b for b in blocks if shard_stem(split, b) not in done]
    report.already_done = sum(
        min(preset.images_per_shard, preset.num_images - b * preset.images_per_shard)
        for b in blocks
        if b not in todo_blocks
    )

    def items() -> Iterator[SourceItem]:
        for b in todo_blocks:
            for index in range(b * preset.images_per_shard, min((b + 1) * preset.images_per_shard, preset.num_images)):
                yield SourceItem(split, image_id(index), "", {"index": index, "block": b})

    total = sum(1 for _ in items())
    writer: SplitWriter | None = None
    block = -1
    bar = tqdm(total=total, desc=f"synth {split}", unit="img", disable=quiet)
    try:
        ctx = Context(src=Path("."))
        for item, result in results_in_order(source, ctx, items(), workers):
            if item.payload["block"] != block:
                if writer is not None:
                    writer.close()
                block = item.payload["block"]
                writer = SplitWriter(out, SYNTH_DATASET, split, SYNTH_LICENSE, shard_index=block)
            bar.update(1)
            if isinstance(result, str):
                report.failed.append((item.image_id, result))
                continue
            assert writer is not None  # opened at the first item of the block
            writer.add(
                item.image_id,
                result.image.data,
                "jpg",
                result.K,
                result.image.width,
                result.image.height,
                result.persons,
                extra_members=result.extra_members,
            )
            report.generated += 1
            report.persons += len(result.persons)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()
    if writer is not None:
        writer.close()
    if layout.stems():
        old = json.loads(layout.manifest.read_text()).get("synth", {}) if layout.manifest.exists() else {}
        write_manifest(
            layout,
            {
                "license_tag": SYNTH_LICENSE,
                "source": {"version": "hmr-synth", "path": ""},
                "synth": {**old, split: settings},
                "failed": [{"image": p, "error": e} for p, e in report.failed],
            },
        )
    return report
