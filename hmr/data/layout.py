"""Where each file of a converted dataset lives, so writers, readers and tools agree.

::

    ROOT/<dataset>/manifest.json
    ROOT/<dataset>/shards/<split>-000000.tar              full images (WebDataset)
    ROOT/<dataset>/images/<split>-000000.parquet          one row per image: the sidecar index
    ROOT/<dataset>/labels/base/<split>-000000.parquet     one row per person, as converted
    ROOT/<dataset>/labels/<version>/<split>-000000.parquet  extra label versions, joined on instance_id

A shard and its two Parquet parts share a stem; the image part is written last, so its presence
marks the shard as complete (that is what makes conversion resumable).
"""

from __future__ import annotations

import re
from pathlib import Path

from hmr.errors import HmrError

BASE_VERSION = "base"
_SHARD_RE = re.compile(r"^(?P<split>[A-Za-z0-9_]+)-(?P<index>\d{6})$")
_ID_BAD = re.compile(r"[^A-Za-z0-9_\-]+")


def image_id_from_path(rel_path: str) -> str:
    """A key-safe image id from a source-relative path: 'seq/image_00001.jpg' -> 'seq__image_00001'.

    WebDataset splits a member name at the first dot of its last path component, so ids hold no
    dots and no slashes.
    """
    stem = rel_path.rsplit(".", 1)[0] if "." in rel_path.rsplit("/", 1)[-1] else rel_path
    return _ID_BAD.sub("_", stem.replace("\\", "/").replace("/", "__")).strip("_")


def image_key(dataset: str, split: str, image_id: str) -> str:
    return f"{dataset}/{split}/{image_id}"


def shard_stem(split: str, index: int) -> str:
    return f"{split}-{index:06d}"


def parse_shard_stem(stem: str) -> tuple[str, int] | None:
    m = _SHARD_RE.match(stem)
    return (m["split"], int(m["index"])) if m else None


class DatasetLayout:
    """Paths of one converted dataset folder."""

    def __init__(self, root: str | Path, dataset: str) -> None:
        if not re.fullmatch(r"[a-z0-9_\-]+", dataset):
            raise HmrError(f"dataset name {dataset!r} must be lower-case letters, digits, '-' or '_'")
        self.dataset = dataset
        self.dir = Path(root) / dataset

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"

    def shard(self, stem: str) -> Path:
        return self.dir / "shards" / f"{stem}.tar"

    def image_part(self, stem: str) -> Path:
        return self.dir / "images" / f"{stem}.parquet"

    def label_part(self, stem: str, version: str = BASE_VERSION) -> Path:
        return self.dir / "labels" / version / f"{stem}.parquet"

    def stems(self, split: str | None = None) -> list[str]:
        """Stems of the complete shards (image part present), sorted."""
        out = []
        for p in sorted((self.dir / "images").glob("*.parquet")):
            parsed = parse_shard_stem(p.stem)
            if parsed and (split is None or parsed[0] == split):
                out.append(p.stem)
        return out

    def splits(self) -> list[str]:
        parsed = [parse_shard_stem(s) for s in self.stems()]
        return sorted({p[0] for p in parsed if p})  # stems() lists only parseable names: none is dropped

    def label_versions(self) -> list[str]:
        d = self.dir / "labels"
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []


def find_datasets(root: str | Path) -> list[DatasetLayout]:
    """The converted datasets under ``root``, which is either one dataset folder or their parent."""
    root = Path(root)
    if not root.is_dir():
        raise HmrError(f"{root} is not a folder; pass the --out folder of 'hmr-data convert'")
    if (root / "images").is_dir() or (root / "manifest.json").exists():
        return [DatasetLayout(root.parent, root.name)]
    found = [
        DatasetLayout(root, p.name)
        for p in sorted(root.iterdir())
        if p.is_dir() and ((p / "images").is_dir() or (p / "manifest.json").exists())
    ]
    if not found:
        raise HmrError(
            f"no converted dataset under {root} (expected <dataset>/manifest.json); run 'hmr-data convert' first"
        )
    return found
