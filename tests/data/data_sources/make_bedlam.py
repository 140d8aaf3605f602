"""A tiny BEDLAM in its processed layout: all_npz_12_training/<scene>.npz + training_images/<scene>/png/."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from data_sources.bodies import random_params
from hmr.body.dataset_bodies import BodyBank
from hmr.camera import project


def _pose165(p: dict, i: int) -> np.ndarray:
    order = ["global_orient", "body_pose", "jaw_pose", "leye_pose", "reye_pose", "left_hand_pose", "right_hand_pose"]
    return np.concatenate([p[k][i] for k in order])


def make_bedlam(root: Path, models_dir: Path, seed: int = 0) -> tuple[dict, dict]:
    """Two scenes (one 'closeup', portrait); returns (expected bodies, source image sizes)."""
    rng = np.random.default_rng(seed)
    bank = BodyBank(models_dir)
    expected, sizes = {}, {}
    for scene, (w, h), frames in (
        ("20221010_3_1000_batch01hand", (128, 72), 3),
        ("20221019_1_250_highbmihand_closeup", (72, 128), 2),
    ):
        K = np.array([[120.0, 0, w / 2], [0, 120.0, h / 2], [0, 0, 1]])
        cols = {
            k: []
            for k in (
                "imgname",
                "pose_cam",
                "shape",
                "trans_cam",
                "cam_int",
                "cam_ext",
                "gtkps",
                "center",
                "scale",
                "gender",
                "sub",
            )
        }
        img_dir = root / "training_images" / scene / "png"
        for f in range(frames):
            seq = f"seq_{f // 2:06d}"
            imgname = f"{seq}/{seq}_{f:04d}.png"
            n = 1 + f % 2
            params = random_params(rng, "smplx", n, num_betas=11)
            params["expression"][:] = 0
            params["global_orient"][:, 0] = np.pi  # upright in the y-down camera
            params["transl"] += [0.0, 0.3, 6.0]
            cam_ext = np.tile(np.eye(4), (n, 1, 1))
            cam_ext[:, :3, 3] = rng.normal(0, 0.2, (n, 3))
            cam_ext[:, :3, :3] = np.eye(3)
            verts, joints = bank.forward("smplx", "neutral", params)
            key = f"bedlam/train/{scene}__{seq}__{seq}_{f:04d}"
            expected[key] = []
            for i in range(n):
                offset = cam_ext[i, :3, 3]
                xy = project(joints[i] + offset, K)
                expected[key].append({"verts_cam": verts[i] + offset, "joints_2d": xy})
                cols["imgname"].append(imgname)
                cols["pose_cam"].append(_pose165(params, i).astype(np.float32))
                cols["shape"].append(params["betas"][i].astype(np.float32))
                cols["trans_cam"].append(params["transl"][i].astype(np.float32))
                cols["cam_int"].append(K.astype(np.float32))
                cols["cam_ext"].append(cam_ext[i].astype(np.float32))
                cols["gtkps"].append(xy.astype(np.float32))
                cols["center"].append(xy.mean(0).astype(np.float32))
                cols["scale"].append(np.float32(1.0))
                cols["gender"].append("neutral")
                cols["sub"].append("rp_sub")
            sizes[key] = (w, h)
            # the marker is top-left in the label frame; closeup PNGs are stored rotated back to landscape
            pixels = np.zeros((h, w, 3), np.uint8)
            pixels[:8, :8] = (255, 0, 0)
            im = Image.fromarray(pixels)
            if "closeup" in scene:
                im = im.transpose(Image.Transpose.ROTATE_90)
            (img_dir / seq).mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            im.save(buf, "PNG")
            (img_dir / imgname).write_bytes(buf.getvalue())
        label_dir = root / "training_labels" / "all_npz_12_training"
        label_dir.mkdir(parents=True, exist_ok=True)
        # the real files are written by numpy.savez with plain (non-object) arrays
        np.savez(label_dir / f"{scene}.npz", **{k: np.asarray(v) for k, v in cols.items()})
    return expected, sizes
