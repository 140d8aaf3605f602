"""BEDLAM, processed labels: ``all_npz_12_<split>/<scene>.npz`` + ``<split>_images/<scene>/png/<imgname>``.

One npz row per person; rows sharing ``imgname`` are one image. The released training labels
are neutral SMPL-X refits with 11 betas and flat hands; ``pose_cam`` (165) is already in the
camera frame and the camera translation is ``trans_cam + cam_ext[:3, 3]``. Scenes named
``closeup`` were rendered portrait: their PNGs are stored landscape and rotated 90 degrees
clockwise before the labels apply.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from data_tools.base import (
    Context,
    ConvertedImage,
    Converter,
    SourceItem,
    UnreadableSource,
    check_splits,
    listed_or_unreadable,
    require_glob,
    rescale,
)
from hmr.camera import bbox_from_points
from hmr.data.layout import image_id_from_path
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError

_SPLITS = {"train": "training", "val": "validation"}
_KEYS = ("imgname", "pose_cam", "shape", "trans_cam", "cam_int", "cam_ext")
#: slices of the 165-value SMPL-X pose (global, 21 body, jaw, eyes, 15 + 15 hand joints)
_POSE_SLICES = {
    "global_orient": (0, 3),
    "body_pose": (3, 66),
    "jaw_pose": (66, 69),
    "leye_pose": (69, 72),
    "reye_pose": (72, 75),
    "left_hand_pose": (75, 120),
    "right_hand_pose": (120, 165),
}


class Bedlam(Converter):
    name = "bedlam"
    license_tag = "bedlam-research-only"
    splits = tuple(_SPLITS)
    description = "BEDLAM processed npz labels (neutral SMPL-X, 11 betas, camera frame) and PNG frames"
    body_models = (("smplx", "neutral"),)

    def _label_files(self, src: Path, split: str) -> list[Path]:
        return sorted(src.glob(f"**/all_npz_12_{_SPLITS[split]}/*.npz"))

    def check_source(self, src: Path) -> None:
        require_glob(src, "**/all_npz_12_*/*.npz", hint="expected the processed labels all_npz_12_training/*.npz")
        if not any((src / f"{d}_images").is_dir() for d in _SPLITS.values()):
            raise HmrError(
                f"{src} does not look like the expected source: training_images/ is missing "
                "(expected training_images/<scene>/png/...)"
            )

    def items(self, src: Path, splits: Sequence[str]) -> Iterator[SourceItem | UnreadableSource]:
        for split in check_splits(splits, self.splits, self.name):
            for npz_path in self._label_files(src, split):
                yield from listed_or_unreadable(npz_path, self._scene_items(src, split, npz_path))

    def _scene_items(self, src: Path, split: str, npz_path: Path) -> Iterator[SourceItem]:
        scene = npz_path.stem
        with np.load(npz_path, allow_pickle=False) as npz:
            missing = [k for k in _KEYS if k not in npz.files]
            if missing:
                raise HmrError(f"{npz_path}: key {missing[0]!r} is missing; is this a BEDLAM processed label file?")
            data = {k: npz[k] for k in (*_KEYS, "gtkps") if k in npz.files}
        rows: OrderedDict[str, list[int]] = OrderedDict()
        for i, name in enumerate(data["imgname"]):
            rows.setdefault(str(name), []).append(i)
        for imgname, idx in rows.items():
            rel = f"{_SPLITS[split]}_images/{scene}/png/{imgname}"
            payload = {k: v[idx] for k, v in data.items() if k != "imgname"}
            payload["closeup"] = "closeup" in scene
            yield SourceItem(split, image_id_from_path(f"{scene}/{imgname}"), rel, payload)

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        pay = item.payload
        image = ctx.load_image(item.image_path, rotate_cw=pay["closeup"])
        K = pay["cam_int"][0].astype(np.float64)
        persons = []
        for i in range(len(pay["pose_cam"])):
            pose = pay["pose_cam"][i].astype(np.float64)
            params = {name: pose[a:b] for name, (a, b) in _POSE_SLICES.items()}
            betas = pay["shape"][i].astype(np.float64)
            params["betas"] = betas
            params["expression"] = np.zeros(10)
            params["transl"] = pay["trans_cam"][i].astype(np.float64) + pay["cam_ext"][i][:3, 3]
            kp2d = np.zeros((0, 3))
            if "gtkps" in pay:
                kp = pay["gtkps"][i].astype(np.float64)
                kp2d = kp if kp.shape[1] == 3 else np.concatenate([kp, np.ones((len(kp), 1))], 1)
            persons.append(
                PersonLabel(
                    body_model="smplx",
                    gender="neutral",
                    num_betas=len(betas),
                    flat_hand_mean=True,
                    params=params,
                    has_params=True,
                    has_betas=True,
                    has_transl=True,
                    pgt_source="gt",
                    bbox_xyxy=bbox_from_points(kp2d, image.src_width, image.src_height) if len(kp2d) else np.zeros(0),
                    bbox_source="joints2d",
                    kp2d=kp2d,
                    kp2d_format="smplx127" if len(kp2d) else "",
                )
            )
        return ConvertedImage(image, rescale(image, K, persons), persons)
