"""A tiny 3DPW in its real layout: Python-2 latin1 sequence pickles and portrait JPEG frames.

As in the real files, ``img_frame_ids`` are the 60 Hz indices of the 30 Hz images (``2 t``), and
each image ``image_{t:05d}.jpg`` carries a white marker where the first actor's pelvis projects in
that frame, so a test can see that every label sits on its own image.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from data_sources.bodies import camera, random_params, world_to_cam_points
from data_sources.py2pickle import dumps_py2
from hmr.body.dataset_bodies import BodyBank
from hmr.camera import project

W, H = 108, 192  # portrait, like the real 1080 x 1920 frames
K = np.array([[150.0, 0, 54.0], [0, 150.0, 96.0], [0, 0, 1]])
#: SMPL joints the fixture uses as its 18 "OpenPose" detections
OPENPOSE_FROM_SMPL = [15, 12, 17, 19, 21, 16, 18, 20, 2, 5, 8, 1, 4, 7, 15, 15, 15, 15]
#: half size of the square marker, px
MARKER_HALF = 2


def marker_jpeg(xy: np.ndarray, seed: int) -> bytes:
    """A dark, noisy W x H frame with a white square centred on pixel ``xy``."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
    x, y = np.round(xy).astype(int)
    pixels[max(y - MARKER_HALF, 0) : y + MARKER_HALF + 1, max(x - MARKER_HALF, 0) : x + MARKER_HALF + 1] = 255
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def make_3dpw(root: Path, models_dir: Path, seed: int = 0, frames: int = 3) -> dict:
    """Writes ROOT/sequenceFiles/{train,test}/*.pkl + ROOT/imageFiles/<seq>/; returns the expectation."""
    rng = np.random.default_rng(seed)
    bank = BodyBank(models_dir)
    expected = {}
    for split_dir, split, seq in (("train", "train", "courtyard_walk_00"), ("test", "test", "downtown_run_01")):
        genders = ["m", "f"]
        P = len(genders)
        world = [random_params(rng, "smpl", frames) for _ in range(P)]
        for p in range(P):
            world[p]["betas"][:] = world[p]["betas"][0]  # one shape per actor
        cams = [camera(rng) for _ in range(frames)]
        cam_poses = np.stack([np.block([[R, t[:, None]], [np.zeros((1, 3)), np.ones((1, 1))]]) for R, t in cams])
        valid = np.ones((P, frames), bool)
        valid[1, 1] = False  # the second actor is not tracked in frame 1
        poses2d, joint_positions, pelvis_px = [], [], []
        for p in range(P):
            gender = {"m": "male", "f": "female"}[genders[p]]
            verts, joints = bank.forward("smpl", gender, world[p])
            kp, jp = [], []
            for t, (R, tr) in enumerate(cams):
                j_cam = world_to_cam_points(joints[t, :24], R, tr)
                xy = project(j_cam[OPENPOSE_FROM_SMPL], K)
                if p == 0:
                    pelvis_px.append(project(j_cam[0], K))
                kp.append(np.concatenate([xy, np.full((18, 1), 0.9)], 1).T)  # (3, 18)
                jp.append(joints[t, :24].reshape(-1))
                if valid[p, t]:
                    key = f"3dpw/{split}/{seq}__image_{t:05d}"
                    expected.setdefault(key, []).append(
                        {"verts_cam": world_to_cam_points(verts[t], R, tr), "joints_2d": project(j_cam, K)}
                    )
            poses2d.append(np.stack(kp))
            joint_positions.append(np.stack(jp))
        seq_dict = {
            "sequence": seq,
            "genders": genders,
            "betas": [world[p]["betas"][0] for p in range(P)],
            "betas_clothed": [world[p]["betas"][0] for p in range(P)],
            "poses": [np.concatenate([world[p]["global_orient"], world[p]["body_pose"]], 1) for p in range(P)],
            "trans": [world[p]["transl"] for p in range(P)],
            "poses_60Hz": [
                np.repeat(np.concatenate([world[p]["global_orient"], world[p]["body_pose"]], 1), 2, 0) for p in range(P)
            ],
            "trans_60Hz": [np.repeat(world[p]["transl"], 2, 0) for p in range(P)],
            "poses2d": poses2d,
            "jointPositions": joint_positions,
            "img_frame_ids": 2 * np.arange(frames),  # poses_60Hz[img_frame_ids[t]] is the pose of image t
            "cam_poses": cam_poses,
            "campose_valid": [valid[p].astype(np.float64) for p in range(P)],
            "cam_intrinsics": K,
        }
        (root / "sequenceFiles" / split_dir).mkdir(parents=True, exist_ok=True)
        (root / "sequenceFiles" / split_dir / f"{seq}.pkl").write_bytes(dumps_py2(seq_dict))
        (root / "imageFiles" / seq).mkdir(parents=True, exist_ok=True)
        for t in range(frames):
            (root / "imageFiles" / seq / f"image_{t:05d}.jpg").write_bytes(marker_jpeg(pelvis_px[t], seed=t))
    (root / "sequenceFiles" / "validation").mkdir(exist_ok=True)
    return expected
