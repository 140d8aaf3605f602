"""Reading converted datasets: a shard-shuffled stream for training, an index for evaluation.

Both return the same sample dict::

    {"image_key": str, "image": (H, W, 3) uint8 RGB (or the encoded bytes with decode=False),
     "K": (3, 3) float32, "img_w": int, "img_h": int, "persons": list[PersonLabel]}

Stored images carry no EXIF rotation to apply: labels refer to the pixels as stored.
"""

from __future__ import annotations

import io
import json
import random
import tarfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import webdataset as wds
from PIL import Image

from hmr.data.labels import persons_by_image
from hmr.data.layout import DatasetLayout, find_datasets
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError

_IMAGE_EXTS = ("jpg", "png")


def decode_image(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 RGB."""
    with Image.open(io.BytesIO(data)) as im:
        return np.array(im.convert("RGB"))  # a writable copy: torch's collate warns on read-only arrays


def _select(
    root: str | Path, datasets: Sequence[str] | None, splits: Sequence[str] | None
) -> list[tuple[DatasetLayout, str]]:
    """(layout, shard stem) of every complete shard matching the filters, in a fixed order."""
    layouts = find_datasets(root)
    if datasets:
        missing = set(datasets) - {lay.dataset for lay in layouts}
        if missing:
            raise HmrError(
                f"dataset(s) {sorted(missing)} not found under {root}; found {[lay.dataset for lay in layouts]}"
            )
        layouts = [lay for lay in layouts if lay.dataset in datasets]
    out = [(lay, stem) for lay in layouts for split in (splits or lay.splits()) for stem in lay.stems(split)]
    if not out:
        raise HmrError(f"no shards under {root} for datasets={datasets or 'all'} splits={splits or 'all'}")
    return out


def _sample(key: str, image: bytes, meta: dict[str, Any], persons: list[PersonLabel], decode: bool) -> dict[str, Any]:
    return {
        "image_key": key,
        "image": decode_image(image) if decode else image,
        "K": np.asarray(meta["K"], np.float32).reshape(3, 3),
        "img_w": int(meta["img_w"]),
        "img_h": int(meta["img_h"]),
        "persons": persons,
    }


class StreamingDataset(torch.utils.data.IterableDataset):
    """Streams (image, persons) samples shard by shard, for training.

    Shards are shuffled per epoch (``set_epoch``) and dealt out to distributed ranks and
    DataLoader workers, so each sample is seen once per epoch. Samples inside a shard keep their
    order unless ``shuffle_buffer`` > 0. Only the labels of the current shard are held in
    memory. ``keep(sample) -> bool`` filters samples (e.g. by body model or box size).
    """

    def __init__(
        self,
        root: str | Path,
        datasets: Sequence[str] | None = None,
        splits: Sequence[str] | None = None,
        label_version: str | None = None,
        shuffle_shards: bool = True,
        shuffle_buffer: int = 0,
        seed: int = 0,
        decode: bool = True,
        keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        super().__init__()
        self.shards = _select(root, datasets, splits)
        self.label_version, self.decode, self.keep = label_version, decode, keep
        self.shuffle_shards, self.shuffle_buffer, self.seed = shuffle_shards, shuffle_buffer, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def my_shards(self) -> list[tuple[DatasetLayout, str]]:
        """This rank's and worker's share of the (shuffled) shard list."""
        order = list(range(len(self.shards)))
        if self.shuffle_shards:
            random.Random(self.seed * 1_000_003 + self.epoch).shuffle(order)
        rank, world = 0, 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        info = torch.utils.data.get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info else (0, 1)
        part = world * n_workers
        slot = rank * n_workers + worker
        return [self.shards[i] for i in order[slot::part]]

    def _shard_samples(self, layout: DatasetLayout, stem: str) -> Iterator[dict[str, Any]]:
        labels = persons_by_image(layout, stem, self.label_version)
        url = str(layout.shard(stem))
        for raw in wds.tarfile_samples([{"url": url}]):
            key = raw["__key__"]
            image = next((raw[e] for e in _IMAGE_EXTS if e in raw), None)
            if image is None or "json" not in raw:
                raise HmrError(f"shard {url} has a sample {key} without image or json; run 'hmr-data verify'")
            sample = _sample(key, image, json.loads(raw["json"]), labels.get(key, []), self.decode)
            if self.keep is None or self.keep(sample):
                yield sample

    def __iter__(self) -> Iterator[dict[str, Any]]:
        rng = random.Random(self.seed + 7919 * self.epoch)
        buffer: list[dict[str, Any]] = []
        for layout, stem in self.my_shards():
            for sample in self._shard_samples(layout, stem):
                if self.shuffle_buffer <= 0:
                    yield sample
                    continue
                buffer.append(sample)
                if len(buffer) >= self.shuffle_buffer:
                    yield buffer.pop(rng.randrange(len(buffer)))
        rng.shuffle(buffer)
        yield from buffer


class IndexedDataset(torch.utils.data.Dataset):
    """Random access by position or image key through the sidecar image index, for evaluation.

    The labels of the ``cache_shards`` most recently used shards stay in memory, so reading in
    index order (or a few shards at random) parses each label part once.
    """

    def __init__(
        self,
        root: str | Path,
        datasets: Sequence[str] | None = None,
        splits: Sequence[str] | None = None,
        label_version: str | None = None,
        decode: bool = True,
        cache_shards: int = 8,
    ) -> None:
        shards = _select(root, datasets, splits)
        self._layouts = {lay.dataset: lay for lay, _ in shards}
        cols = ["image_key", "dataset", "shard", "offset", "img_w", "img_h", "K"]
        index = pa.concat_tables([pq.read_table(lay.image_part(stem), columns=cols) for lay, stem in shards])
        self._rows = index.to_pylist()
        self._position = {row["image_key"]: i for i, row in enumerate(self._rows)}
        self.label_version, self.decode, self.cache_shards = label_version, decode, cache_shards
        self._labels: OrderedDict[tuple[str, str], dict[str, list[PersonLabel]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def keys(self) -> list[str]:
        return [row["image_key"] for row in self._rows]

    def get(self, image_key: str) -> dict[str, Any]:
        if image_key not in self._position:
            raise HmrError(f"image {image_key!r} is not in this dataset index")
        return self[self._position[image_key]]

    def _persons(self, dataset: str, stem: str) -> dict[str, list[PersonLabel]]:
        key = (dataset, stem)
        if key in self._labels:
            self._labels.move_to_end(key)
        else:
            self._labels[key] = persons_by_image(self._layouts[dataset], stem, self.label_version)
            if len(self._labels) > self.cache_shards:
                self._labels.popitem(last=False)
        return self._labels[key]

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = self._rows[i]
        stem = row["shard"][: -len(".tar")]
        image = read_member_at(self._layouts[row["dataset"]].shard(stem), row["offset"])
        persons = self._persons(row["dataset"], stem).get(row["image_key"], [])
        return _sample(row["image_key"], image, row, persons, self.decode)


def read_member_at(shard: Path, offset: int) -> bytes:
    """Bytes of the tar member whose header starts at ``offset`` (the index stores it)."""
    with open(shard, "rb") as f:
        f.seek(offset)
        with tarfile.open(fileobj=f, mode="r:") as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise HmrError(f"{shard} has no image at offset {offset}; the index is stale, run 'hmr-data verify'")
            data = tar.extractfile(member)
            assert data is not None  # None only for members that are not regular files, excluded above
            return data.read()
