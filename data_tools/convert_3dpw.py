"""3DPW: ``sequenceFiles/<split>/*.pkl`` (Python 2 pickles, latin1) + ``imageFiles/<seq>/image_%05d.jpg``.

Bodies are gendered SMPL (10 betas) in the world frame; ``cam_poses`` (T, 4, 4) map world to
camera per frame, so each valid (``campose_valid``) person is moved into the camera with the
root fix. ``poses2d`` are OpenPose COCO-18 detections, (3, 18) per frame and person.

Frame ``t`` of every per-frame array (``poses``, ``trans``, ``cam_poses``, ``campose_valid``,
``poses2d``) is the image ``image_{t:05d}.jpg``. ``img_frame_ids[t]`` is not a file name: it indexes
the 60 Hz arrays (``poses_60Hz[img_frame_ids[t]]`` is the pose of image ``t``), and runs to about
twice the number of images, so naming files by it pairs poses with other moments.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from data_tools import safe_pickle
from data_tools.base import (
    Context,
    ConvertedImage,
    Converter,
    SourceItem,
    UnreadableSource,
    check_splits,
    listed_or_unreadable,
    require,
    require_glob,
    rescale,
)
from hmr.camera import bbox_from_points, project, world_to_camera
from hmr.data.layout import image_id_from_path
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError

_SPLIT_DIRS = {"train": "train", "val": "validation", "test": "test"}
_GENDERS = {"m": "male", "f": "female", "male": "male", "female": "female"}


class ThreeDPW(Converter):
    name = "3dpw"
    license_tag = "3dpw-research-only"
    splits = tuple(_SPLIT_DIRS)
    description = "3DPW sequence pickles (SMPL, gendered, world frame) with camera poses"
    body_models = (("smpl", "male"), ("smpl", "female"))

    def check_source(self, src: Path) -> None:
        require(src, "sequenceFiles", "imageFiles", hint="expected the unpacked 3DPW root")
        require_glob(src, "sequenceFiles/*/*.pkl", hint="expected sequenceFiles/{train,validation,test}/*.pkl")

    def items(self, src: Path, splits: Sequence[str]) -> Iterator[SourceItem | UnreadableSource]:
        for split in check_splits(splits, self.splits, self.name):
            for seq_file in sorted((src / "sequenceFiles" / _SPLIT_DIRS[split]).glob("*.pkl")):
                yield from listed_or_unreadable(seq_file, self._sequence_items(split, seq_file))

    def _sequence_items(self, split: str, seq_file: Path) -> Iterator[SourceItem]:
        seq = safe_pickle.load(seq_file, encoding="latin1")
        for key in (
            "sequence",
            "genders",
            "betas",
            "poses",
            "trans",
            "cam_poses",
            "campose_valid",
            "cam_intrinsics",
            "poses2d",
            "img_frame_ids",
        ):
            if key not in seq:
                raise HmrError(f"{seq_file}: key {key!r} is missing; is this a 3DPW sequence file?")
        name = seq["sequence"]
        genders = [_GENDERS[str(g).lower()] for g in seq["genders"]]
        frames = len(seq["cam_poses"])
        for key in ("poses", "trans", "campose_valid", "poses2d"):
            lengths = {len(per_person) for per_person in seq[key]}
            if lengths != {frames}:
                raise HmrError(
                    f"{seq_file}: {key} has {sorted(lengths)} frames per person but cam_poses has {frames}; "
                    "the sequence file is damaged, download it again"
                )
        for t in range(frames):
            persons = [
                {
                    "gender": genders[p],
                    "betas": np.asarray(seq["betas"][p], np.float64)[:10],
                    "pose": np.asarray(seq["poses"][p][t], np.float64),
                    "trans": np.asarray(seq["trans"][p][t], np.float64),
                    "poses2d": np.asarray(seq["poses2d"][p][t], np.float64).T,
                }
                for p in range(len(genders))
                if bool(seq["campose_valid"][p][t])
            ]
            if not persons:
                continue
            rel = f"imageFiles/{name}/image_{t:05d}.jpg"
            yield SourceItem(
                split,
                image_id_from_path(f"{name}/image_{t:05d}"),
                rel,
                {
                    "cam_pose": np.asarray(seq["cam_poses"][t], np.float64),
                    "K": np.asarray(seq["cam_intrinsics"], np.float64),
                    "persons": persons,
                },
            )

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        image = ctx.load_image(item.image_path)
        K, cam = item.payload["K"], item.payload["cam_pose"]
        persons = []
        for src in item.payload["persons"]:
            gender, betas = src["gender"], src["betas"][None]
            pelvis = ctx.bodies.rest_pelvis("smpl", gender, betas)[0]
            go_cam, transl_cam = world_to_camera(src["pose"][:3], src["trans"], pelvis, cam[:3, :3], cam[:3, 3])
            params = {
                "global_orient": go_cam,
                "body_pose": src["pose"][3:],
                "betas": src["betas"],
                "transl": transl_cam,
            }
            verts, joints = ctx.bodies.forward("smpl", gender, {k: v[None] for k, v in params.items()})
            joints24 = joints[0, :24]
            persons.append(
                PersonLabel(
                    body_model="smpl",
                    gender=gender,
                    num_betas=10,
                    params=params,
                    has_params=True,
                    has_betas=True,
                    has_transl=True,
                    pgt_source="gt",
                    bbox_xyxy=bbox_from_points(project(verts[0], K), image.src_width, image.src_height),
                    bbox_source="verts",
                    kp2d=src["poses2d"],
                    kp2d_format="openpose18",
                    kp3d=np.concatenate([joints24, np.ones((24, 1))], 1),
                    kp3d_format="smpl24",
                )
            )
        return ConvertedImage(image, rescale(image, K, persons), persons)

    def source_version(self, src: Path) -> str:
        n = len(list((src / "sequenceFiles").glob("*/*.pkl")))
        return f"3DPW ({n} sequence files)"
