"""4D-Humans (HMR 2.0) / HSMR training shards: ``**/*.tar`` WebDataset files.

Each sample holds the full image (``jpg``) and ``data.pyd``, a pickled list of per-person dicts:
``keypoints_2d (44, 3)`` (25 OpenPose + 19 extra, full-image pixels), ``keypoints_3d (44, 4)``,
``center (2)``, ``scale (2)`` (box side = scale * 200 px), ``body_pose (72)`` (global orientation
first), ``betas (10)``, ``has_body_pose``, ``has_betas``. The pickle is read through an allow-list
(plain data only), never with ``pickle.load``. The fits are neutral SMPL pseudo-labels under weak
perspective, so there is no metric translation (``has_transl`` false) and K is the default.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from data_tools import safe_pickle
from data_tools.base import Context, ConvertedImage, Converter, SourceItem, check_splits, require_glob, rescale
from data_tools.images import prepare_image
from hmr.camera import intrinsics_from_fov
from hmr.data.layout import image_id_from_path
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError


def _flag(person: dict, key: str) -> bool:
    return bool(np.asarray(person.get(key, 0)).reshape(-1)[0] > 0)


class FourDHumans(Converter):
    name = "4dhumans"
    license_tag = "4dhumans-pseudo-labels-see-source-datasets"
    splits = ("train",)
    description = "4D-Humans / HSMR WebDataset training shards (neutral SMPL pseudo-labels, weak perspective)"

    def check_source(self, src: Path) -> None:
        require_glob(src, "**/*.tar", hint="expected the 4D-Humans dataset_tars/ folder with *.tar shards")

    def items(self, src: Path, splits: Sequence[str]) -> Iterator[SourceItem]:
        import webdataset as wds

        check_splits(splits, self.splits, self.name)
        for shard in sorted(src.glob("**/*.tar")):
            rel = shard.relative_to(src).as_posix()
            for sample in wds.tarfile_samples([{"url": str(shard)}]):
                key = sample["__key__"]
                if "jpg" not in sample or "data.pyd" not in sample:
                    raise HmrError(f"{rel}: sample {key} lacks jpg or data.pyd; is this a 4D-Humans shard?")
                yield SourceItem(
                    "train",
                    image_id_from_path(f"{rel[:-4]}/{key}"),
                    f"{rel}#{key}",
                    {"jpg": sample["jpg"], "pyd": sample["data.pyd"]},
                )

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        image = prepare_image(item.payload["jpg"], ctx.max_side, where=item.image_path)
        people = safe_pickle.loads(item.payload["pyd"], where=f"{item.image_path}/data.pyd")
        if isinstance(people, dict):
            people = [people]
        persons = []
        for p in people:
            center = np.asarray(p["center"], np.float64).reshape(2)
            half = 100.0 * np.asarray(p["scale"], np.float64).reshape(-1)
            half = np.broadcast_to(half, (2,))
            pose = np.asarray(p["body_pose"], np.float64).reshape(72)
            has_pose, has_betas = _flag(p, "has_body_pose"), _flag(p, "has_betas")
            kp3d = np.asarray(p.get("keypoints_3d", np.zeros((0, 4))), np.float64).reshape(-1, 4)
            persons.append(
                PersonLabel(
                    body_model="smpl",
                    gender="neutral",
                    num_betas=10,
                    pgt_source="4dhumans-fit",
                    params={
                        "global_orient": pose[:3],
                        "body_pose": pose[3:],
                        "betas": np.asarray(p["betas"], np.float64).reshape(10),
                    }
                    if has_pose or has_betas
                    else {},
                    has_params=has_pose,
                    has_betas=has_betas,
                    has_transl=False,
                    fit_error_mm=float("nan"),
                    bbox_xyxy=np.concatenate([center - half, center + half]),
                    bbox_source="center_scale",
                    kp2d=np.asarray(p["keypoints_2d"], np.float64).reshape(-1, 3),
                    kp2d_format="hmr2_44",
                    kp3d=kp3d if np.any(kp3d[:, 3] > 0) else np.zeros((0, 4)),
                    kp3d_format="hmr2_44" if np.any(kp3d[:, 3] > 0) else "",
                    kp3d_frame="root_relative",
                )
            )
        return ConvertedImage(
            image, rescale(image, intrinsics_from_fov(image.src_width, image.src_height), persons), persons
        )
