"""EMDB: ``P*/<seq>/P*_<seq>_data.pkl`` + ``P*/<seq>/images/%05d.jpg``.

One person per sequence, gendered SMPL (10 betas) in the world frame; ``camera.extrinsics``
(T, 4, 4) map world to camera, so bodies are moved with the root fix. Only frames flagged in
``good_frames_mask`` are stored, as the benchmark evaluates only those. Splits: ``emdb1``
(camera-frame benchmark), ``emdb2`` (global trajectories) or ``all`` sequences; a sequence in
several selected splits is stored in each.
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
    require_glob,
    rescale,
)
from hmr.camera import world_to_camera
from hmr.data.layout import image_id_from_path
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError

_KEYS = ("gender", "name", "good_frames_mask", "camera", "smpl", "kp2d", "bboxes")


class Emdb(Converter):
    name = "emdb"
    license_tag = "emdb-research-only"
    splits = ("all", "emdb1", "emdb2")
    description = "EMDB sequence pickles (SMPL, gendered, world frame) with per-frame extrinsics"
    body_models = (("smpl", "male"), ("smpl", "female"))

    def check_source(self, src: Path) -> None:
        require_glob(src, "P*/*/P*_*_data.pkl", hint="expected P<n>/<sequence>/P<n>_<sequence>_data.pkl")

    def items(self, src: Path, splits: Sequence[str]) -> Iterator[SourceItem | UnreadableSource]:
        for split in check_splits(splits or ["all"], self.splits, self.name):
            for pkl in sorted(src.glob("P*/*/P*_*_data.pkl")):
                yield from listed_or_unreadable(pkl, self._sequence_items(src, split, pkl))

    def _sequence_items(self, src: Path, split: str, pkl: Path) -> Iterator[SourceItem]:
        seq = safe_pickle.load(pkl)
        missing = [k for k in _KEYS if k not in seq]
        if missing:
            raise HmrError(f"{pkl}: key {missing[0]!r} is missing; is this an EMDB *_data.pkl file?")
        if split != "all" and not seq.get(split, False):
            return
        seq_dir = pkl.parent.relative_to(src).as_posix()
        cam, smpl = seq["camera"], seq["smpl"]
        invalid = set(np.asarray(seq["bboxes"].get("invalid_idxs", []), int).tolist())
        for t in np.flatnonzero(np.asarray(seq["good_frames_mask"], bool)):
            t = int(t)
            rel = f"{seq_dir}/images/{t:05d}.jpg"
            yield SourceItem(
                split,
                image_id_from_path(f"{seq_dir}/{t:05d}"),
                rel,
                {
                    "gender": str(seq["gender"]),
                    "betas": np.asarray(smpl["betas"], np.float64).reshape(-1)[:10],
                    "root": np.asarray(smpl["poses_root"][t], np.float64),
                    "body": np.asarray(smpl["poses_body"][t], np.float64),
                    "trans": np.asarray(smpl["trans"][t], np.float64),
                    "K": np.asarray(cam["intrinsics"], np.float64),
                    "extrinsics": np.asarray(cam["extrinsics"][t], np.float64),
                    "kp2d": np.asarray(seq["kp2d"][t], np.float64),
                    "bbox": None if t in invalid else np.asarray(seq["bboxes"]["bboxes"][t], np.float64),
                },
            )

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        pay = item.payload
        image = ctx.load_image(item.image_path)
        gender = {"m": "male", "f": "female"}.get(pay["gender"].lower(), pay["gender"].lower())
        pelvis = ctx.bodies.rest_pelvis("smpl", gender, pay["betas"][None])[0]
        ext = pay["extrinsics"]
        go_cam, transl_cam = world_to_camera(pay["root"], pay["trans"], pelvis, ext[:3, :3], ext[:3, 3])
        params = {"global_orient": go_cam, "body_pose": pay["body"], "betas": pay["betas"], "transl": transl_cam}
        _, joints = ctx.bodies.forward("smpl", gender, {k: v[None] for k, v in params.items()})
        person = PersonLabel(
            body_model="smpl",
            gender=gender,
            num_betas=10,
            params=params,
            has_params=True,
            has_betas=True,
            has_transl=True,
            pgt_source="gt",
            bbox_xyxy=pay["bbox"] if pay["bbox"] is not None else np.zeros(0),
            bbox_source="emdb" if pay["bbox"] is not None else "",
            kp2d=np.concatenate([pay["kp2d"], np.ones((len(pay["kp2d"]), 1))], 1),
            kp2d_format="smpl24",
            kp3d=np.concatenate([joints[0, :24], np.ones((24, 1))], 1),
            kp3d_format="smpl24",
        )
        return ConvertedImage(image, rescale(image, pay["K"], [person]), [person])
