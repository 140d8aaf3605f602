"""AGORA (SMPL-X): camera dataframes ``**/{train,validation}_*.pkl`` + fits + ``images/<split>/<imgPath>``.

Each dataframe row is one image; per-person columns are lists: ``gender``, ``kid``, ``isValid``,
``occlusion``, ``gt_path_smplx`` (a ``.obj`` path whose ``.pkl`` holds the fit) and, in the
"with joints and vertices" release, ``gt_joints_2d`` (3840 x 2160 pixels) and ``gt_joints_3d``
(OpenCV camera frame, metres). Fits are gendered SMPL-X with full (non-PCA) hand poses relative
to the mean hand (``flat_hand_mean`` false), 10 betas.

The fit lives in a local frame and the released camera-frame joints are that body moved rigidly,
so the world-to-camera transform is recovered by a rigid (Kabsch) alignment of the fit's joints
onto ``gt_joints_3d``; its residual is checked rather than trusted. The intrinsics follow the
renderer: sensor 36 x 20.25 mm, principal point at the centre, focal length 50 mm (``hdri``),
18 mm (``cam00``-``cam03``), else 28 mm. Kids use AGORA's kid template, which hmr-data does not
evaluate: they keep boxes and keypoints but no parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from data_tools import safe_pickle
from data_tools.base import Context, ConvertedImage, Converter, SourceItem, check_splits, require_glob, rescale
from hmr.camera import bbox_from_points, world_to_camera
from hmr.data.layout import image_id_from_path
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError

_SPLITS = {"train": "train", "val": "validation"}
_SENSOR_MM = (36.0, 20.25)
_LABEL_SIZE = (3840, 2160)
_FIT_KEYS = (
    "global_orient",
    "body_pose",
    "betas",
    "transl",
    "left_hand_pose",
    "right_hand_pose",
    "jaw_pose",
    "leye_pose",
    "reye_pose",
    "expression",
)
MAX_ALIGN_RESIDUAL_M = 0.005


def focal_mm(img_path: str) -> float:
    if "hdri" in img_path:
        return 50.0
    if any(f"cam0{i}" in img_path for i in range(4)):
        return 18.0
    return 28.0


def agora_K(img_path: str, width: int, height: int) -> np.ndarray:
    f = focal_mm(img_path)
    return np.array([[f / _SENSOR_MM[0] * width, 0, width / 2], [0, f / _SENSOR_MM[1] * height, height / 2], [0, 0, 1]])


def kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Rotation R and translation t minimising |R src + t - dst|; also the max residual. (N, 3) each"""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    U, _, Vt = np.linalg.svd((src - mu_s).T @ (dst - mu_d))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(Vt.T @ U.T))])
    R = Vt.T @ D @ U.T
    t = mu_d - R @ mu_s
    return R, t, float(np.linalg.norm(src @ R.T + t - dst, axis=1).max())


class Agora(Converter):
    name = "agora"
    license_tag = "agora-research-only"
    splits = tuple(_SPLITS)
    description = "AGORA camera dataframes (with joints) + SMPL-X fits (gendered, local frame)"
    body_models = (("smplx", "male"), ("smplx", "female"), ("smplx", "neutral"))

    def _dataframes(self, src: Path, split: str) -> list[Path]:
        return [p for p in sorted(src.glob(f"**/{_SPLITS[split]}_*.pkl")) if "_gt" not in p.parent.as_posix()]

    def check_source(self, src: Path) -> None:
        require_glob(
            src,
            "**/*_withjv.pkl",
            hint="expected the AGORA camera dataframes with SMPL-X joints and vertices, e.g. Cam/train_0_withjv.pkl",
        )

    def items(self, src: Path, splits: Sequence[str]) -> Iterator[SourceItem]:
        for split in check_splits(splits, self.splits, self.name):
            for df_path in self._dataframes(src, split):
                df = safe_pickle.load_dataframe(df_path)
                for col in ("imgPath", "gender", "kid", "gt_path_smplx", "gt_joints_2d", "gt_joints_3d"):
                    if col not in df.columns:
                        raise HmrError(
                            f"{df_path}: column {col!r} is missing; use the camera dataframes "
                            "'with SMPL-X joints and vertices'"
                        )
                for row in df.to_dict("records"):
                    img = str(row["imgPath"])
                    rel = next(
                        (
                            f"{d}/{img}"
                            for d in (f"images/{_SPLITS[split]}", _SPLITS[split], "images")
                            if (src / d / img).exists()
                        ),
                        f"images/{_SPLITS[split]}/{img}",
                    )
                    persons = [
                        {
                            "gender": str(row["gender"][p]),
                            "kid": bool(row["kid"][p]),
                            "fit": str(row["gt_path_smplx"][p]).replace(".obj", ".pkl"),
                            "joints_2d": np.asarray(row["gt_joints_2d"][p], np.float64),
                            "joints_3d": np.asarray(row["gt_joints_3d"][p], np.float64),
                        }
                        for p in range(len(row["gender"]))
                    ]
                    yield SourceItem(split, image_id_from_path(img), rel, {"img": img, "persons": persons})

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        image = ctx.load_image(item.image_path)
        w, h = image.src_width, image.src_height
        s = w / _LABEL_SIZE[0]  # labels are for 3840 x 2160; the 1280 x 720 release scales them by 1/3
        persons = [self._person(ctx, p, s, w, h) for p in item.payload["persons"]]
        return ConvertedImage(image, rescale(image, agora_K(item.payload["img"], w, h), persons), persons)

    def _person(self, ctx: Context, src: dict, s: float, w: int, h: int) -> PersonLabel:
        kp2d = np.concatenate([src["joints_2d"][:, :2] * s, np.ones((len(src["joints_2d"]), 1))], 1)
        label = PersonLabel(
            body_model="smplx",
            gender=src["gender"],
            num_betas=10,
            flat_hand_mean=False,
            pgt_source="gt",
            kp2d=kp2d,
            kp2d_format="smplx127",
            kp3d=np.concatenate([src["joints_3d"], np.ones((len(src["joints_3d"]), 1))], 1),
            kp3d_format="smplx127",
            bbox_xyxy=bbox_from_points(kp2d, w, h),
            bbox_source="joints2d",
        )
        if src["kid"]:
            return label
        fit = safe_pickle.load(ctx.src / src["fit"])
        missing = [k for k in _FIT_KEYS if k not in fit]
        if missing:
            raise HmrError(f"{src['fit']}: key {missing[0]!r} is missing; is this an AGORA SMPL-X fit?")
        local = {
            k: np.asarray(fit[k].numpy() if hasattr(fit[k], "numpy") else fit[k], np.float64).reshape(1, -1)
            for k in _FIT_KEYS
        }
        local["betas"] = local["betas"][:, :10]
        for hand in ("left_hand_pose", "right_hand_pose"):
            if local[hand].shape[1] != 45:
                raise HmrError(f"{src['fit']}: {hand} has {local[hand].shape[1]} values, expected 45 (full pose)")
        _, joints_local = ctx.bodies.forward("smplx", src["gender"], local, flat_hand_mean=False)
        n = min(len(src["joints_3d"]), joints_local.shape[1])
        R, t, residual = kabsch(joints_local[0, :n], src["joints_3d"][:n])
        if residual > MAX_ALIGN_RESIDUAL_M:
            raise HmrError(
                f"{src['fit']}: the fit's joints match gt_joints_3d only to {residual * 1000:.1f} mm "
                "after rigid alignment; wrong model files or a mismatched fit"
            )
        pelvis = ctx.bodies.rest_pelvis("smplx", src["gender"], local["betas"], local["expression"], False)[0]
        go_cam, transl_cam = world_to_camera(local["global_orient"][0], local["transl"][0], pelvis, R, t)
        label.params = {k: v[0] for k, v in local.items()}
        label.params.update(global_orient=go_cam, transl=transl_cam)
        label.has_params = label.has_betas = label.has_transl = True
        return label
