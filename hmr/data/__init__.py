"""The unified dataset format: images in WebDataset tar shards, person labels in Parquet.

Writers (``SplitWriter``), the manifest, ``verify`` and ``all_stats`` need only numpy and
pyarrow; the torch readers (``StreamingDataset``, ``IndexedDataset``) load on first use.
"""

from __future__ import annotations

from typing import Any

from hmr.data.layout import BASE_VERSION, DatasetLayout, find_datasets, image_id_from_path, image_key
from hmr.data.schema import FORMAT_VERSION, IMAGE_SCHEMA, PERSON_SCHEMA, VERSION_SCHEMA, PersonLabel
from hmr.data.writer import SplitWriter, write_label_version

_LAZY = {
    "StreamingDataset": "hmr.data.reader",
    "IndexedDataset": "hmr.data.reader",
    "verify_dataset": "hmr.data.verify",
    "all_stats": "hmr.data.stats",
    "write_manifest": "hmr.data.manifest",
    "read_manifest": "hmr.data.manifest",
}

__all__ = [
    "BASE_VERSION",
    "FORMAT_VERSION",
    "IMAGE_SCHEMA",
    "PERSON_SCHEMA",
    "VERSION_SCHEMA",
    "DatasetLayout",
    "PersonLabel",
    "SplitWriter",
    "find_datasets",
    "image_id_from_path",
    "image_key",
    "write_label_version",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hmr.data' has no attribute {name!r}")
