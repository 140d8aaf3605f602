"""Check a converted dataset: checksums, schemas, and that every label points at a stored image."""

from __future__ import annotations

import tarfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from hmr.data.layout import BASE_VERSION, DatasetLayout, find_datasets, parse_shard_stem
from hmr.data.manifest import read_manifest
from hmr.data.schema import FORMAT_VERSION, IMAGE_SCHEMA, PERSON_SCHEMA, VERSION_SCHEMA, check_schema
from hmr.data.writer import file_sha256
from hmr.errors import HmrError


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    checked_files: int = 0
    checked_images: int = 0
    checked_instances: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _tar_members(path: Path) -> dict[str, int]:
    """Member name -> header offset, reading only the headers."""
    with tarfile.open(path, "r:") as tar:
        return {m.name: m.offset for m in tar}


def _check_files(layout: DatasetLayout, manifest: dict, report: VerifyReport, checksums: bool) -> None:
    listed = manifest.get("files", {})
    on_disk = {
        str(p.relative_to(layout.dir))
        for sub in ("shards", "images", "labels")
        for p in (layout.dir / sub).rglob("*")
        if p.is_file() and parse_shard_stem(p.stem)
    }
    for rel in sorted(on_disk - set(listed)):
        report.problems.append(f"{layout.dataset}: {rel} is not in manifest.json (rerun the conversion to finish it)")
    for rel, info in sorted(listed.items()):
        path = layout.dir / rel
        if not path.exists():
            report.problems.append(f"{layout.dataset}: {rel} is listed in manifest.json but missing")
            continue
        report.checked_files += 1
        if path.stat().st_size != info.get("bytes"):
            report.problems.append(
                f"{layout.dataset}: {rel} has {path.stat().st_size} bytes, manifest says {info.get('bytes')}"
            )
        elif checksums and file_sha256(path) != info.get("sha256"):
            report.problems.append(
                f"{layout.dataset}: {rel} checksum differs from manifest.json (file changed or corrupt)"
            )


def _check_shard(layout: DatasetLayout, stem: str, report: VerifyReport) -> None:
    name = layout.dataset
    images = pq.read_table(layout.image_part(stem))
    report.problems += check_schema(images.schema, IMAGE_SCHEMA, f"{name}: images/{stem}.parquet")
    label_path = layout.label_part(stem)
    if not label_path.exists():
        report.problems.append(f"{name}: labels/{BASE_VERSION}/{stem}.parquet is missing")
        return
    persons = pq.read_table(label_path)
    report.problems += check_schema(persons.schema, PERSON_SCHEMA, f"{name}: labels/{BASE_VERSION}/{stem}.parquet")
    shard = layout.shard(stem)
    if not shard.exists():
        report.problems.append(f"{name}: shards/{stem}.tar is missing")
        return
    members = _tar_members(shard)
    index_keys = images.column("image_key").to_pylist()
    expected_n = dict(zip(index_keys, images.column("n_persons").to_pylist()))
    for key, offset in zip(index_keys, images.column("offset").to_pylist()):
        report.checked_images += 1
        image_members = [m for m in (f"{key}.jpg", f"{key}.png") if m in members]
        if not image_members:
            report.problems.append(f"{name}: image {key} is indexed but not in shards/{stem}.tar")
        elif members[image_members[0]] != offset:
            report.problems.append(f"{name}: image {key} sits at byte {members[image_members[0]]}, index says {offset}")
        if f"{key}.json" not in members:
            report.problems.append(f"{name}: image {key} has no .json member in shards/{stem}.tar")
    counts = Counter(persons.column("image_key").to_pylist())
    for key in sorted(set(counts) - set(expected_n)):
        report.problems.append(f"{name}: labels reference image {key}, which is not stored in shards/{stem}.tar")
    for key, n in expected_n.items():
        if counts.get(key, 0) != n:
            report.problems.append(f"{name}: image {key} should have {n} persons, labels have {counts.get(key, 0)}")
    report.checked_instances += persons.num_rows
    _check_params(f"{name}: labels/{BASE_VERSION}/{stem}", persons.select(["has_params", "params"]).to_pylist(), report)
    instance_ids = set(persons.column("instance_id").to_pylist())
    for version in layout.label_versions():
        path = layout.label_part(stem, version)
        if version == BASE_VERSION or not path.exists():
            continue
        table = pq.read_table(path)
        where = f"{name}: labels/{version}/{stem}.parquet"
        report.problems += check_schema(table.schema, VERSION_SCHEMA, where)
        orphans = set(table.column("instance_id").to_pylist()) - instance_ids
        if orphans:
            report.problems.append(
                f"{where}: {len(orphans)} instance ids not in the base labels, e.g. {sorted(orphans)[0]}"
            )
        _check_params(where, table.select(["has_params", "params"]).to_pylist(), report)


def _check_params(where: str, rows: Iterable[dict], report: VerifyReport) -> None:
    bad = sum(
        1
        for r in rows
        if r["has_params"]
        and (not r["params"] or not all(np.isfinite(np.asarray(v, np.float64)).all() for _, v in r["params"]))
    )
    if bad:
        report.problems.append(f"{where}: {bad} persons marked has_params with missing or non-finite parameters")


def verify_dataset(root: str | Path, checksums: bool = True) -> VerifyReport:
    """Check every dataset under ``root``; ``checksums=False`` skips re-hashing files (sizes still checked)."""
    report = VerifyReport()
    for layout in find_datasets(root):
        try:
            manifest = read_manifest(layout)
        except HmrError as e:
            report.problems.append(str(e))
            continue
        if manifest.get("format_version") != FORMAT_VERSION:
            report.problems.append(
                f"{layout.dataset}: format_version {manifest.get('format_version')} "
                f"is not {FORMAT_VERSION}; reconvert with this version of hmr-data"
            )
        _check_files(layout, manifest, report, checksums)
        for stem in layout.stems():
            _check_shard(layout, stem, report)
    return report
