"""``manifest.json``: what a converted dataset holds and how it was made.

Provenance (source version, converter version and code checksum, body-model file checksums,
licence) is given by the writer; counts and file checksums are recomputed from the files, so the
manifest always describes what is on disk. Shard checksums come from the image parts' metadata
(computed while writing) so a rerun never re-reads gigabytes of images.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from hmr.atomic import atomic_path
from hmr.data.layout import BASE_VERSION, DatasetLayout, parse_shard_stem
from hmr.data.schema import FORMAT_NAME, FORMAT_VERSION
from hmr.data.writer import file_sha256
from hmr.errors import HmrError


def read_manifest(layout: DatasetLayout) -> dict[str, Any]:
    if not layout.manifest.exists():
        raise HmrError(
            f"{layout.manifest} is missing: the conversion did not finish; rerun 'hmr-data convert' (it resumes)"
        )
    try:
        return json.loads(layout.manifest.read_text())
    except json.JSONDecodeError as e:
        raise HmrError(f"{layout.manifest} is not valid JSON ({e}); rerun 'hmr-data convert'") from e


def _version_counts(layout: DatasetLayout, version: str) -> dict[str, Any]:
    per_split: dict[str, Any] = {}
    for part in sorted((layout.dir / "labels" / version).glob("*.parquet")):
        parsed = parse_shard_stem(part.stem)
        if not parsed:
            continue
        models = pq.read_table(part, columns=["body_model"]).column(0).to_pylist()
        entry = per_split.setdefault(parsed[0], {"instances": 0, "body_models": Counter()})
        entry["instances"] += len(models)
        entry["body_models"].update(m or "none" for m in models)
    return {
        s: {"instances": e["instances"], "body_models": dict(sorted(e["body_models"].items()))}
        for s, e in sorted(per_split.items())
    }


def scan(layout: DatasetLayout) -> tuple[dict[str, Any], dict[str, Any]]:
    """(per-split counts, file checksums) of what is on disk."""
    splits: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for stem in layout.stems():
        parsed = parse_shard_stem(stem)
        assert parsed is not None  # stems() lists only parseable names
        split = parsed[0]
        part = pq.ParquetFile(layout.image_part(stem))
        meta = {k.decode(): v.decode() for k, v in (part.schema_arrow.metadata or {}).items()}
        entry = splits.setdefault(split, {"images": 0, "shards": 0})
        entry["images"] += part.metadata.num_rows
        entry["shards"] += 1
        files[f"shards/{stem}.tar"] = {"sha256": meta.get("shard_sha256", ""), "bytes": int(meta.get("shard_bytes", 0))}
    for sub in ["images", *[f"labels/{v}" for v in layout.label_versions()]]:
        for p in sorted((layout.dir / sub).glob("*.parquet")):
            if parse_shard_stem(p.stem):
                files[f"{sub}/{p.name}"] = {"sha256": file_sha256(p), "bytes": p.stat().st_size}
    for split, counts in _version_counts(layout, BASE_VERSION).items():
        splits.setdefault(split, {"images": 0, "shards": 0}).update(counts)
    return splits, files


@contextlib.contextmanager
def _manifest_lock(layout: DatasetLayout) -> Iterator[None]:
    """Serialise manifest rewrites: parallel generation parts each rewrite it when they finish, and
    a rewrite scans the disk, so two interleaved ones could drop the other's shards."""
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): one writer at a time is then the user's care
        yield
        return
    layout.dir.mkdir(parents=True, exist_ok=True)
    with open(layout.dir / ".manifest.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_manifest(
    layout: DatasetLayout,
    provenance: dict[str, Any] | None = None,
    label_version_info: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """(Re)write the manifest; provenance and label-version notes merge into the existing ones."""
    with _manifest_lock(layout):
        return _write_manifest(layout, provenance, label_version_info)


def _write_manifest(
    layout: DatasetLayout,
    provenance: dict[str, Any] | None,
    label_version_info: dict[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    old: dict[str, Any] = json.loads(layout.manifest.read_text()) if layout.manifest.exists() else {}
    splits, files = scan(layout)
    versions = {}
    for version in layout.label_versions():
        if version == BASE_VERSION:
            continue
        info = {**old.get("label_versions", {}).get(version, {}), **(label_version_info or {}).get(version, {})}
        versions[version] = {**info, "splits": _version_counts(layout, version)}
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "dataset": layout.dataset,
        **{k: v for k, v in old.items() if k not in ("splits", "files", "label_versions", "updated")},
        **(provenance or {}),
        "splits": splits,
        "label_versions": versions,
        "files": files,
        "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    with atomic_path(layout.manifest) as tmp:
        Path(tmp).write_text(json.dumps(manifest, indent=1, sort_keys=False))
    return manifest
