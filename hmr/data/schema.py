"""The label schema of the unified dataset format: one Parquet row per person instance.

Every 3D quantity is in the camera frame of the stored image (OpenCV: x right, y down, z
forward, metres) and every 2D quantity in that image's pixels, so a reader never needs the
source dataset's conventions. Body-model parameters are axis-angle, as the body model takes
them; ``transl`` follows the ``smplx`` convention: it is added to the posed body, whose root
joint stays where the rest pose puts it, so ``vertices_cam = model(**params)`` holds as is.

Body columns (``BODY_COLUMNS``) are the ones a label version may replace: a version file holds
``instance_id`` plus those columns and is joined on ``instance_id`` at read time, so pseudo-label
refreshes never rewrite images.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pyarrow as pa

FORMAT_NAME = "hmr-data"
#: 2 added the visible box and visible fraction (synthetic and occlusion-aware sources)
FORMAT_VERSION = 2

BODY_MODELS = ("smpl", "smplx", "skel", "anny", "")
GENDERS = ("neutral", "male", "female")

_PARAMS_TYPE = pa.map_(pa.string(), pa.list_(pa.float32()))

#: columns that a label version replaces (besides the ``instance_id`` it is joined on)
BODY_COLUMNS: list[pa.Field] = [
    pa.field("body_model", pa.string()),  # one of BODY_MODELS; "" when the source has no body
    pa.field("gender", pa.string()),
    pa.field("num_betas", pa.int32()),
    pa.field("flat_hand_mean", pa.bool_()),  # hand convention: hand poses relative to a flat hand
    pa.field("kid_factor", pa.float32()),  # AGORA/BEDLAM kid template weight; 0 for adults
    pa.field("params", _PARAMS_TYPE),  # name -> flat float32 values (axis-angle, betas, transl)
    pa.field("has_params", pa.bool_()),  # pose parameters valid
    pa.field("has_betas", pa.bool_()),
    pa.field("has_transl", pa.bool_()),  # metric camera translation known (not weak perspective)
    pa.field("pgt_source", pa.string()),  # "gt", "neuralannot", "prohmr-fit", "skel-fit", ...
    pa.field("pgt_version", pa.string()),
    pa.field("fit_error_mm", pa.float32()),  # NaN unless the labels come from a fit
]

PERSON_SCHEMA = pa.schema(
    [
        pa.field("instance_id", pa.string()),  # "<image_key>#<person_index>"
        pa.field("image_key", pa.string()),  # "<dataset>/<split>/<image_id>"
        pa.field("dataset", pa.string()),
        pa.field("split", pa.string()),
        pa.field("shard", pa.string()),  # shard file name, e.g. "train-000003.tar"
        pa.field("person_index", pa.int32()),
        pa.field("license_tag", pa.string()),
        pa.field("img_w", pa.int32()),
        pa.field("img_h", pa.int32()),
        pa.field("K", pa.list_(pa.float32(), 9)),  # row-major 3x3 of the stored image
        pa.field("bbox_xyxy", pa.list_(pa.float32(), 4)),
        pa.field("bbox_source", pa.string()),
        pa.field("bbox_visible_xyxy", pa.list_(pa.float32(), 4)),  # around the visible pixels; null if unknown
        pa.field("visible_fraction", pa.float32()),  # visible pixels / pixels of the whole body; NaN if unknown
        pa.field("kp2d", pa.list_(pa.float32())),  # (J, 3) flattened: x_px, y_px, score as the source gives it
        pa.field("kp2d_format", pa.string()),
        pa.field("kp3d", pa.list_(pa.float32())),  # (J, 4) flattened: x, y, z (m), confidence
        pa.field("kp3d_format", pa.string()),
        pa.field("kp3d_frame", pa.string()),  # "cam" or "root_relative"
        pa.field("verts_cam", pa.list_(pa.float32())),  # (V, 3) flattened; only when no params exist
        pa.field("has_bbox", pa.bool_()),
        pa.field("has_kp2d", pa.bool_()),
        pa.field("has_kp3d", pa.bool_()),
        pa.field("has_verts", pa.bool_()),
        *BODY_COLUMNS,
    ]
)

VERSION_SCHEMA = pa.schema([pa.field("instance_id", pa.string()), *BODY_COLUMNS])

#: one row per stored image: the sidecar index used for random access and per-image facts
IMAGE_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string()),
        pa.field("dataset", pa.string()),
        pa.field("split", pa.string()),
        pa.field("shard", pa.string()),
        pa.field("offset", pa.int64()),  # byte offset of the image's tar member header
        pa.field("nbytes", pa.int64()),  # encoded image size
        pa.field("img_w", pa.int32()),
        pa.field("img_h", pa.int32()),
        pa.field("K", pa.list_(pa.float32(), 9)),
        pa.field("n_persons", pa.int32()),
        pa.field("source_path", pa.string()),  # relative to the source folder, for provenance
        pa.field("resize_factor", pa.float32()),  # stored size / source size
    ]
)


def _arr(x: Any, dtype=np.float32) -> np.ndarray:
    return np.asarray(x, dtype=dtype)


@dataclass
class PersonLabel:
    """One person instance as converters produce it and readers return it.

    ``kp2d`` is (J, 3), ``kp3d`` (J, 4), ``verts_cam`` (V, 3), ``K`` (3, 3); empty arrays mean
    absent. ``params`` maps names (``global_orient``, ``body_pose``, ``betas``, ``transl``, ...)
    to float arrays in the body model's own shapes.
    """

    body_model: str = ""
    gender: str = "neutral"
    num_betas: int = 0
    flat_hand_mean: bool = True
    kid_factor: float = 0.0
    params: dict[str, np.ndarray] = field(default_factory=dict)
    has_params: bool = False
    has_betas: bool = False
    has_transl: bool = False
    pgt_source: str = "gt"
    pgt_version: str = ""
    fit_error_mm: float = float("nan")
    bbox_xyxy: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    bbox_source: str = ""
    bbox_visible_xyxy: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    visible_fraction: float = float("nan")
    kp2d: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    kp2d_format: str = ""
    kp3d: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    kp3d_format: str = ""
    kp3d_frame: str = "cam"
    verts_cam: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    # filled by the writer / reader, not by converters
    instance_id: str = ""
    image_key: str = ""
    person_index: int = 0
    K: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))

    @property
    def has_bbox(self) -> bool:
        return len(self.bbox_xyxy) == 4

    @property
    def has_kp2d(self) -> bool:
        return np.asarray(self.kp2d).size > 0

    @property
    def has_kp3d(self) -> bool:
        return np.asarray(self.kp3d).size > 0

    @property
    def has_verts(self) -> bool:
        return np.asarray(self.verts_cam).size > 0

    def validate(self) -> None:
        """Raise ValueError on a label that would be written wrong (wrong shapes, unknown model)."""
        if self.body_model not in BODY_MODELS:
            raise ValueError(f"unknown body model {self.body_model!r}; expected one of {BODY_MODELS}")
        if self.gender not in GENDERS:
            raise ValueError(f"unknown gender {self.gender!r}; expected one of {GENDERS}")
        for name in ("bbox_xyxy", "bbox_visible_xyxy"):
            if len(getattr(self, name)) not in (0, 4):
                raise ValueError(f"{name} must have 4 values, got {len(getattr(self, name))}")
        for name, arr, width in (("kp2d", self.kp2d, 3), ("kp3d", self.kp3d, 4), ("verts_cam", self.verts_cam, 3)):
            a = np.asarray(arr)
            if a.size and (a.ndim != 2 or a.shape[1] != width):
                raise ValueError(f"{name} must be (N, {width}), got {a.shape}")
        for name, value in self.params.items():
            if not np.all(np.isfinite(np.asarray(value, np.float64))):
                raise ValueError(f"parameter {name!r} holds non-finite values")
        if self.has_params and not self.params:
            raise ValueError("has_params is set but no parameters are given")

    def body_record(self) -> dict[str, Any]:
        """The BODY_COLUMNS of this person as a pyarrow-ready dict."""
        return {
            "body_model": self.body_model,
            "gender": self.gender,
            "num_betas": int(self.num_betas),
            "flat_hand_mean": bool(self.flat_hand_mean),
            "kid_factor": float(self.kid_factor),
            "params": {k: _arr(v).reshape(-1) for k, v in self.params.items()} if self.params else None,
            "has_params": bool(self.has_params),
            "has_betas": bool(self.has_betas),
            "has_transl": bool(self.has_transl),
            "pgt_source": self.pgt_source,
            "pgt_version": self.pgt_version,
            "fit_error_mm": float(self.fit_error_mm),
        }

    def record(
        self,
        *,
        image_key: str,
        dataset: str,
        split: str,
        shard: str,
        person_index: int,
        license_tag: str,
        img_w: int,
        img_h: int,
        K: np.ndarray,
    ) -> dict[str, Any]:
        """The full PERSON_SCHEMA row of this person inside a stored image."""
        kp2d, kp3d, verts = _arr(self.kp2d), _arr(self.kp3d), _arr(self.verts_cam)
        return {
            "instance_id": f"{image_key}#{person_index}",
            "image_key": image_key,
            "dataset": dataset,
            "split": split,
            "shard": shard,
            "person_index": int(person_index),
            "license_tag": license_tag,
            "img_w": int(img_w),
            "img_h": int(img_h),
            "K": _arr(K).reshape(9),
            "bbox_xyxy": _arr(self.bbox_xyxy).reshape(4) if len(self.bbox_xyxy) else None,
            "bbox_source": self.bbox_source,
            "bbox_visible_xyxy": _arr(self.bbox_visible_xyxy).reshape(4) if len(self.bbox_visible_xyxy) else None,
            "visible_fraction": float(self.visible_fraction),
            "kp2d": kp2d.reshape(-1),
            "kp2d_format": self.kp2d_format,
            "kp3d": kp3d.reshape(-1),
            "kp3d_format": self.kp3d_format,
            "kp3d_frame": self.kp3d_frame,
            "verts_cam": verts.reshape(-1) if verts.size else None,
            "has_bbox": self.has_bbox,
            "has_kp2d": self.has_kp2d,
            "has_kp3d": self.has_kp3d,
            "has_verts": self.has_verts,
            **self.body_record(),
        }

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> PersonLabel:
        """Rebuild a label from a Parquet row (``table.to_pylist()`` item); params come back flat."""
        params_raw = row.get("params") or []
        items = params_raw.items() if isinstance(params_raw, dict) else params_raw
        params = {k: np.asarray(v, np.float32) for k, v in items}
        known = {f.name for f in fields(cls)}
        out = cls(
            **{
                k: v
                for k, v in row.items()
                if k in known
                and k not in ("params", "kp2d", "kp3d", "verts_cam", "bbox_xyxy", "bbox_visible_xyxy", "K")
            }
        )
        out.params = params
        out.bbox_xyxy = _arr(row.get("bbox_xyxy") or [])
        out.bbox_visible_xyxy = _arr(row.get("bbox_visible_xyxy") or [])
        out.kp2d = _arr(row.get("kp2d") or []).reshape(-1, 3)
        out.kp3d = _arr(row.get("kp3d") or []).reshape(-1, 4)
        out.verts_cam = _arr(row.get("verts_cam") or []).reshape(-1, 3)
        out.K = _arr(row["K"]).reshape(3, 3) if row.get("K") is not None else np.zeros((0, 3), np.float32)
        for name in ("fit_error_mm", "visible_fraction"):
            if getattr(out, name) is None:
                setattr(out, name, float("nan"))
        return out


def check_schema(table_schema: pa.Schema, expected: pa.Schema, what: str) -> list[str]:
    """Differences between a file's schema and the expected one, as readable lines."""
    problems = []
    for f in expected:
        idx = table_schema.get_field_index(f.name)
        if idx < 0:
            problems.append(f"{what}: missing column {f.name!r}")
        elif not table_schema.field(idx).type.equals(f.type):
            problems.append(f"{what}: column {f.name!r} has type {table_schema.field(idx).type}, expected {f.type}")
    return problems
