"""What every converter provides, and the helpers they share.

A converter lists its source as light ``SourceItem``s (one per image, in a fixed order, so a
rerun can skip what is stored) and turns one item into a ``ConvertedImage``. A source file that
lists images (a sequence pickle, a label npz) and turns out damaged is listed as an
``UnreadableSource`` instead, so the batch reports it and goes on with the other files. Items travel to
worker processes, so their payloads hold plain numpy data, never open files or models.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from data_tools.images import DEFAULT_MAX_SIDE, StoredImage, prepare_image
from hmr.body.dataset_bodies import BodyBank
from hmr.camera import scale_K, scale_points
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError


@dataclass
class SourceItem:
    split: str
    image_id: str  # key-safe (see hmr.data.layout.image_id_from_path)
    image_path: str  # relative to the source folder
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class UnreadableSource:
    """A source file that could not be listed; the driver records it as failed and goes on."""

    path: str  # the file, as the user knows it
    reason: str  # one line


def listed_or_unreadable(path: Path, items: Iterator[SourceItem]) -> Iterator[SourceItem | UnreadableSource]:
    """``items`` (read from ``path``), or one ``UnreadableSource`` in place of the rest when reading fails."""
    try:
        yield from items
    except HmrError as e:
        yield UnreadableSource(str(path), str(e))


@dataclass
class ConvertedImage:
    image: StoredImage
    K: np.ndarray  # (3, 3) of the stored image
    persons: list[PersonLabel]
    #: more members of the sample, by suffix (e.g. ``"mask.png"``), stored beside the image
    extra_members: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Context:
    """What ``convert`` may use: the source folder, options and (per process) the body models."""

    src: Path
    max_side: int = DEFAULT_MAX_SIDE
    models_dir: str | None = None
    _bodies: BodyBank | None = None

    @property
    def bodies(self) -> BodyBank:
        if self._bodies is None:
            self._bodies = BodyBank(self.models_dir)
        return self._bodies

    def load_image(self, rel_path: str, rotate_cw: bool = False) -> StoredImage:
        return prepare_image(self.src / rel_path, self.max_side, rotate_cw)


class Converter:
    """Base class: set the class attributes, implement ``check_source``, ``items``, ``convert``."""

    name: str = ""
    license_tag: str = ""
    #: bump when the output of the converter changes for the same source
    version: str = "1"
    splits: tuple[str, ...] = ()
    description: str = ""
    #: (kind, gender) of the body-model files used; their checksums go into the manifest
    body_models: tuple[tuple[str, str], ...] = ()

    def check_source(self, src: Path) -> None:
        raise NotImplementedError

    def items(self, src: Path, splits: Sequence[str]) -> Iterator[SourceItem | UnreadableSource]:
        raise NotImplementedError

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        raise NotImplementedError

    def source_version(self, src: Path) -> str:
        """What identifies the source release; converters override when the source says."""
        return "unknown"

    def code_sha256(self) -> str:
        """Checksum of this converter's module, recorded in the manifest."""
        return hashlib.sha256(inspect.getsource(inspect.getmodule(type(self))).encode()).hexdigest()


def require(src: Path, *rel_paths: str, hint: str = "") -> None:
    """Raise a one-line error naming the first expected file or folder that is missing."""
    if not src.is_dir():
        raise HmrError(f"source folder {src} does not exist")
    for rel in rel_paths:
        if not (src / rel).exists():
            raise HmrError(
                f"{src} does not look like the expected source: {rel} is missing" + (f" ({hint})" if hint else "")
            )


def require_glob(src: Path, pattern: str, hint: str = "") -> list[Path]:
    if not src.is_dir():
        raise HmrError(f"source folder {src} does not exist")
    found = sorted(src.glob(pattern))
    if not found:
        raise HmrError(
            f"{src} does not look like the expected source: no file matches {pattern}" + (f" ({hint})" if hint else "")
        )
    return found


def check_splits(requested: Sequence[str], available: Sequence[str], name: str) -> list[str]:
    unknown = [s for s in requested if s not in available]
    if unknown:
        raise HmrError(f"{name} has no split {unknown[0]!r}; choose from {list(available)}")
    return list(requested) or list(available)


def rescale(image: StoredImage, K: np.ndarray, persons: list[PersonLabel]) -> np.ndarray:
    """Bring K and every person's 2D labels from source pixels to stored pixels; returns the new K."""
    sx, sy = image.scale
    if (sx, sy) == (1.0, 1.0):
        return np.asarray(K, np.float64)
    for p in persons:
        if len(p.kp2d):
            p.kp2d = scale_points(p.kp2d, sx, sy).astype(np.float32)
        if len(p.bbox_xyxy):
            p.bbox_xyxy = scale_points(np.asarray(p.bbox_xyxy).reshape(2, 2), sx, sy).reshape(4).astype(np.float32)
    return scale_K(K, sx, sy)
