"""Reading person labels of one shard, with an optional label version joined on ``instance_id``.

A label version (say ``skel-fit-v1``) replaces the body columns of the persons it covers; the
others keep their base labels, so a consumer filters on ``body_model`` when it needs one model.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyarrow.parquet as pq

from hmr.data.layout import BASE_VERSION, DatasetLayout
from hmr.data.schema import BODY_COLUMNS, PersonLabel
from hmr.errors import HmrError

_BODY_NAMES = [f.name for f in BODY_COLUMNS]


def read_rows(layout: DatasetLayout, stem: str, version: str | None = None) -> list[dict[str, Any]]:
    """Person rows of shard ``stem`` (dicts of PERSON_SCHEMA), with ``version`` joined in."""
    rows = pq.read_table(layout.label_part(stem)).to_pylist()
    if version and version != BASE_VERSION:
        path = layout.label_part(stem, version)
        if not path.exists():
            known = [v for v in layout.label_versions() if v != BASE_VERSION]
            raise HmrError(
                f"label version {version!r} has no part {path.name} in {layout.dir}; "
                f"known versions: {known or 'none'} (run 'hmr-data convert-body')"
            )
        replacement = {r["instance_id"]: r for r in pq.read_table(path).to_pylist()}
        for row in rows:
            new = replacement.get(row["instance_id"])
            if new is not None:
                row.update({k: new[k] for k in _BODY_NAMES})
    return rows


def persons_by_image(layout: DatasetLayout, stem: str, version: str | None = None) -> dict[str, list[PersonLabel]]:
    """``image_key -> persons`` (in person_index order) for one shard."""
    out: dict[str, list[PersonLabel]] = defaultdict(list)
    for row in sorted(read_rows(layout, stem, version), key=lambda r: (r["image_key"], r["person_index"])):
        out[row["image_key"]].append(PersonLabel.from_record(row))
    return dict(out)
