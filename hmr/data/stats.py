"""Counts per dataset / split / body model and how often each field is missing."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from hmr.data.layout import DatasetLayout, find_datasets, parse_shard_stem

HAS_COLUMNS = ("has_bbox", "has_kp2d", "has_kp3d", "has_verts", "has_params", "has_betas", "has_transl")


def dataset_stats(layout: DatasetLayout) -> dict[str, Any]:
    """``{split: {images, instances, body_models: {name: n}, missing: {field: n}, versions: {...}}}``."""
    out: dict[str, Any] = defaultdict(
        lambda: {
            "images": 0,
            "instances": 0,
            "body_models": Counter(),
            "missing": Counter(),
            "versions": defaultdict(Counter),
        }
    )
    for stem in layout.stems():
        parsed = parse_shard_stem(stem)
        assert parsed is not None  # stems() lists only parseable names
        split = parsed[0]
        entry = out[split]
        entry["images"] += pq.ParquetFile(layout.image_part(stem)).metadata.num_rows
        table = pq.read_table(layout.label_part(stem), columns=["body_model", *HAS_COLUMNS])
        entry["instances"] += table.num_rows
        entry["body_models"].update(m or "none" for m in table.column("body_model").to_pylist())
        for col in HAS_COLUMNS:
            entry["missing"][col.removeprefix("has_")] += table.column(col).to_pylist().count(False)
        for version in layout.label_versions():
            path = layout.label_part(stem, version)
            if version != "base" and path.exists():
                models = pq.read_table(path, columns=["body_model"]).column(0).to_pylist()
                entry["versions"][version].update(m or "none" for m in models)
    return {
        s: {
            **e,
            "body_models": dict(e["body_models"]),
            "missing": dict(e["missing"]),
            "versions": {v: dict(c) for v, c in e["versions"].items()},
        }
        for s, e in sorted(out.items())
    }


def all_stats(root: str | Path) -> dict[str, dict[str, Any]]:
    return {layout.dataset: dataset_stats(layout) for layout in find_datasets(root)}


def format_stats(stats: dict[str, dict[str, Any]]) -> str:
    """A plain-text table, one line per dataset/split, then the missing-field counts."""
    lines = [f"{'dataset':<16} {'split':<12} {'images':>9} {'persons':>9}  body models / label versions"]
    for dataset, splits in stats.items():
        for split, e in splits.items():
            models = ", ".join(f"{m}={n}" for m, n in sorted(e["body_models"].items()))
            versions = "; ".join(
                f"{v}: " + ", ".join(f"{m}={n}" for m, n in sorted(c.items())) for v, c in sorted(e["versions"].items())
            )
            lines.append(
                f"{dataset:<16} {split:<12} {e['images']:>9} {e['instances']:>9}  {models}"
                + (f"  | {versions}" if versions else "")
            )
            missing = ", ".join(f"{f}={n}" for f, n in e["missing"].items() if n)
            lines.append(f"{'':<16} {'':<12} missing: {missing or 'nothing'}")
    return "\n".join(lines)
