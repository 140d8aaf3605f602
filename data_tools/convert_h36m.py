"""Human3.6M with NeuralAnnot fits: ``annotations/Human36M_subject{S}_*.json`` + ``images/<file_name>``.

Per subject: ``_data.json`` (COCO-style images and annotations), ``_camera.json`` (R, t in mm,
f, c per camera), ``_joint_3d.json`` (17 mocap joints, world, mm) and ``_SMPL_NeuralAnnot.json``
(``[action][subaction][frame] -> pose (72), shape (10), trans (3)``, world frame, metres,
neutral SMPL). Bodies move into each camera with the root fix; the mocap joints become the 3D
keypoints (camera frame, metres) and their projections the 2D keypoints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from data_tools.base import Context, ConvertedImage, Converter, SourceItem, check_splits, require_glob, rescale
from hmr.camera import project, world_to_camera
from hmr.data.layout import image_id_from_path
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError

SPLIT_SUBJECTS = {"train": (1, 5, 6, 7, 8), "test": (9, 11)}


def _read_json(path: Path) -> dict:
    if not path.exists():
        raise HmrError(
            f"{path.name} is missing in {path.parent} (each subject needs _data, _camera, _joint_3d "
            "and _SMPL_NeuralAnnot json files)"
        )
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise HmrError(f"{path} is not valid JSON ({e}); download it again") from e


class Human36M(Converter):
    name = "h36m"
    license_tag = "h36m-research-only"
    splits = tuple(SPLIT_SUBJECTS)
    description = "Human3.6M with NeuralAnnot SMPL fits (world frame), mocap joints and cameras"
    body_models = (("smpl", "neutral"),)

    def check_source(self, src: Path) -> None:
        require_glob(
            src,
            "annotations/Human36M_subject*_data.json",
            hint="expected annotations/Human36M_subject<S>_data.json and images/",
        )

    def items(self, src: Path, splits: Sequence[str]) -> Iterator[SourceItem]:
        present = sorted(
            int(m[1])
            for p in (src / "annotations").glob("Human36M_subject*_data.json")
            if (m := re.match(r"Human36M_subject(\d+)_data\.json", p.name))
        )
        for split in check_splits(splits, self.splits, self.name):
            for subject in (s for s in SPLIT_SUBJECTS[split] if s in present):
                yield from self._subject_items(src, split, subject)

    def _subject_items(self, src: Path, split: str, subject: int) -> Iterator[SourceItem]:
        ann_dir = src / "annotations"
        data = _read_json(ann_dir / f"Human36M_subject{subject}_data.json")
        cameras = _read_json(ann_dir / f"Human36M_subject{subject}_camera.json")
        joints = _read_json(ann_dir / f"Human36M_subject{subject}_joint_3d.json")
        fits = _read_json(ann_dir / f"Human36M_subject{subject}_SMPL_NeuralAnnot.json")
        anns = {a["image_id"]: a for a in data["annotations"]}
        for img in sorted(data["images"], key=lambda i: i["id"]):
            a, s, f = str(img["action_idx"]), str(img["subaction_idx"]), str(img["frame_idx"])
            fit = fits.get(a, {}).get(s, {}).get(f)
            if fit is None or img["id"] not in anns:
                continue  # NeuralAnnot skipped this frame: nothing to learn from
            cam = cameras[str(img["cam_idx"])]
            yield SourceItem(
                split,
                image_id_from_path(img["file_name"]),
                f"images/{img['file_name']}",
                {
                    "R": np.asarray(cam["R"], np.float64),
                    "t_mm": np.asarray(cam["t"], np.float64).reshape(3),
                    "f": np.asarray(cam["f"], np.float64),
                    "c": np.asarray(cam["c"], np.float64),
                    "joints_mm": np.asarray(joints[a][s][f], np.float64),
                    "pose": np.asarray(fit["pose"], np.float64),
                    "shape": np.asarray(fit["shape"], np.float64),
                    "trans": np.asarray(fit["trans"], np.float64),
                    "bbox": np.asarray(anns[img["id"]]["bbox"], np.float64),
                    "vis": np.asarray(anns[img["id"]].get("keypoints_vis", [1] * 17), np.float64),
                },
            )

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        pay = item.payload
        image = ctx.load_image(item.image_path)
        K = np.array([[pay["f"][0], 0, pay["c"][0]], [0, pay["f"][1], pay["c"][1]], [0, 0, 1]])
        R, t_m = pay["R"], pay["t_mm"] / 1000.0
        pelvis = ctx.bodies.rest_pelvis("smpl", "neutral", pay["shape"][None])[0]
        go_cam, transl_cam = world_to_camera(pay["pose"][:3], pay["trans"], pelvis, R, t_m)
        joints_cam = (pay["joints_mm"] @ R.T + pay["t_mm"]) / 1000.0
        x, y, w, h = pay["bbox"]
        person = PersonLabel(
            body_model="smpl",
            gender="neutral",
            num_betas=10,
            has_params=True,
            has_betas=True,
            has_transl=True,
            params={"global_orient": go_cam, "body_pose": pay["pose"][3:], "betas": pay["shape"], "transl": transl_cam},
            pgt_source="neuralannot",
            bbox_xyxy=np.array([x, y, x + w, y + h]),
            bbox_source="annotation",
            kp2d=np.concatenate([project(joints_cam, K), pay["vis"][:, None]], 1),
            kp2d_format="h36m17",
            kp3d=np.concatenate([joints_cam, np.ones((17, 1))], 1),
            kp3d_format="h36m17",
        )
        return ConvertedImage(image, rescale(image, K, [person]), [person])
