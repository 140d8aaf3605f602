"""Writes one split of one dataset: images into tar shards, labels and the index into Parquet.

Shards are plain POSIX tar files that WebDataset streams (member ``<image_key>.jpg`` plus
``<image_key>.json``). They are written with ``tarfile`` rather than ``webdataset.TarWriter``
because the sidecar index needs each member's byte offset, and fixed member metadata (mtime 0,
no owner) keeps checksums reproducible across reruns.

Every shard is committed as a unit (tar, then label part, then image part, each renamed into
place), so an interrupted conversion restarts after its last complete shard and skips images
that are already stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hmr.atomic import atomic_path
from hmr.data.layout import BASE_VERSION, DatasetLayout, image_key, parse_shard_stem, shard_stem
from hmr.data.schema import IMAGE_SCHEMA, PERSON_SCHEMA, VERSION_SCHEMA, PersonLabel

DEFAULT_SHARD_BYTES = 1_000_000_000


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_parquet(table: pa.Table, path: Path, metadata: dict[str, str] | None = None) -> None:
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_done_keys(layout: DatasetLayout, split: str) -> tuple[set[str], int]:
    """Image keys already stored for ``split`` and the next free shard index."""
    keys: set[str] = set()
    next_index = 0
    for stem in layout.stems(split):
        keys.update(pq.read_table(layout.image_part(stem), columns=["image_key"]).column(0).to_pylist())
        parsed = parse_shard_stem(stem)
        assert parsed is not None  # stems() lists only parseable names
        next_index = max(next_index, parsed[1] + 1)
    return keys, next_index


def _remove_incomplete(layout: DatasetLayout, split: str, stem_glob: str = "*") -> None:
    """Delete shards and label parts of ``split`` (of the stems matching ``stem_glob``) whose image
    part (the commit marker) is missing."""
    pattern = f"{split}-{stem_glob}"
    complete = set(layout.stems(split))
    leftovers = list((layout.dir / "shards").glob(f"{pattern}.tar"))
    leftovers += list((layout.dir / "labels" / BASE_VERSION).glob(f"{pattern}.parquet"))
    for p in leftovers:
        if parse_shard_stem(p.stem) and p.stem not in complete:
            p.unlink()
    for folder in ("shards", "images", f"labels/{BASE_VERSION}"):  # temp files of a killed run
        for p in (layout.dir / folder).glob(f".{pattern}.*part*"):
            p.unlink()


class SplitWriter:
    """Append images with their persons; shards roll over at ``max_shard_bytes``.

    With ``shard_index`` the writer fills exactly that one shard and touches no other file of the
    split, so several processes can write disjoint shards of one split at the same time (sharded
    generation); the caller decides which images go into it.

    Use as a context manager: leaving the block commits the open shard.
    """

    def __init__(
        self,
        root: str | Path,
        dataset: str,
        split: str,
        license_tag: str,
        max_shard_bytes: int = DEFAULT_SHARD_BYTES,
        shard_index: int | None = None,
    ) -> None:
        self.layout = DatasetLayout(root, dataset)
        self.split, self.license_tag, self.max_shard_bytes = split, license_tag, max_shard_bytes
        if shard_index is None:
            _remove_incomplete(self.layout, split)
            self.done_keys, self._next_index = read_done_keys(self.layout, split)
        else:
            stem = shard_stem(split, shard_index)
            if stem in self.layout.stems(split):
                raise ValueError(f"shard {stem} is complete already; skip it instead of rewriting it")
            _remove_incomplete(self.layout, split, stem_glob=stem.split("-", 1)[1])
            self.done_keys, self._next_index = set(), shard_index
            self.max_shard_bytes = 2**62  # one shard, never rolled over
        self._stack: contextlib.ExitStack | None = None
        self._tar: tarfile.TarFile | None = None
        self._tar_path: Path | None = None
        self._stem = ""
        self._persons: list[dict[str, Any]] = []
        self._images: list[dict[str, Any]] = []
        self.n_written = 0

    def __enter__(self) -> SplitWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def key(self, image_id: str) -> str:
        return image_key(self.layout.dataset, self.split, image_id)

    def has(self, image_id: str) -> bool:
        return self.key(image_id) in self.done_keys

    def add(
        self,
        image_id: str,
        image_bytes: bytes,
        ext: str,
        K: np.ndarray,
        img_w: int,
        img_h: int,
        persons: list[PersonLabel],
        source_path: str = "",
        resize_factor: float = 1.0,
        extra_members: dict[str, bytes] | None = None,
    ) -> str:
        """Store one image and its persons; returns the image key.

        ``extra_members`` maps a member suffix (e.g. ``"mask.png"``) to bytes stored beside the
        image as ``<image_key>.<suffix>``: WebDataset readers see it as one more field of the sample.
        """
        key = self.key(image_id)
        if key in self.done_keys:
            raise ValueError(f"image {key} is stored twice; image ids must be unique within a split")
        for p in persons:
            p.validate()
        if self._tar is None:
            self._open_shard()
        assert self._tar is not None  # _open_shard() opened it
        shard_name = f"{self._stem}.tar"
        meta = {
            "image_key": key,
            "img_w": int(img_w),
            "img_h": int(img_h),
            "K": np.asarray(K, float).reshape(3, 3).tolist(),
            "n_persons": len(persons),
        }
        offset = self._tar.offset
        self._add_member(f"{key}.{ext}", image_bytes)
        self._add_member(f"{key}.json", json.dumps(meta).encode())
        for suffix, data in (extra_members or {}).items():
            self._add_member(f"{key}.{suffix}", data)
        for i, p in enumerate(persons):
            self._persons.append(
                p.record(
                    image_key=key,
                    dataset=self.layout.dataset,
                    split=self.split,
                    shard=shard_name,
                    person_index=i,
                    license_tag=self.license_tag,
                    img_w=img_w,
                    img_h=img_h,
                    K=K,
                )
            )
        self._images.append(
            {
                "image_key": key,
                "dataset": self.layout.dataset,
                "split": self.split,
                "shard": shard_name,
                "offset": offset,
                "nbytes": len(image_bytes),
                "img_w": int(img_w),
                "img_h": int(img_h),
                "K": np.asarray(K, np.float32).reshape(9),
                "n_persons": len(persons),
                "source_path": source_path,
                "resize_factor": float(resize_factor),
            }
        )
        self.done_keys.add(key)
        self.n_written += 1
        if self._tar.offset >= self.max_shard_bytes:
            self._commit_shard()
        return key

    def close(self) -> None:
        if self._tar is not None:
            self._commit_shard()

    def abort(self) -> None:
        """Drop the open shard (its temporary file is removed); committed shards stay."""
        if self._stack is not None:
            assert self._tar is not None  # opened together with the stack
            self._tar.close()
            with contextlib.suppress(Exception):
                self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)
        self._reset()

    def _add_member(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        assert self._tar is not None  # only called while a shard is open
        self._tar.addfile(info, io.BytesIO(data))

    def _open_shard(self) -> None:
        self._stem = shard_stem(self.split, self._next_index)
        self._next_index += 1
        self._stack = contextlib.ExitStack()
        self._tar_path = self._stack.enter_context(atomic_path(self.layout.shard(self._stem)))
        self._tar = tarfile.open(self._tar_path, "w", format=tarfile.PAX_FORMAT)

    def _commit_shard(self) -> None:
        # only called while a shard is open: _open_shard() set all three
        assert self._tar is not None and self._tar_path is not None and self._stack is not None
        self._tar.close()
        sha, nbytes = file_sha256(self._tar_path), self._tar_path.stat().st_size
        self._stack.close()  # renames the tar into place
        write_parquet(pa.Table.from_pylist(self._persons, schema=PERSON_SCHEMA), self.layout.label_part(self._stem))
        write_parquet(
            pa.Table.from_pylist(self._images, schema=IMAGE_SCHEMA),
            self.layout.image_part(self._stem),
            {"shard_sha256": sha, "shard_bytes": str(nbytes)},
        )
        self._reset()

    def _reset(self) -> None:
        self._stack = self._tar = self._tar_path = None
        self._persons, self._images = [], []


def write_label_version(
    layout: DatasetLayout, stem: str, version: str, rows: list[dict[str, Any]], metadata: dict[str, str] | None = None
) -> Path:
    """Write one label-version part (VERSION_SCHEMA rows) beside the base part of shard ``stem``."""
    if version == BASE_VERSION:
        raise ValueError("the base labels are written by the converter, not as a label version")
    path = layout.label_part(stem, version)
    write_parquet(pa.Table.from_pylist(rows, schema=VERSION_SCHEMA), path, metadata)
    return path
