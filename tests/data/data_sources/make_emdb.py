"""A tiny EMDB in its real layout: P<n>/<seq>/P<n>_<seq>_data.pkl (Python 3 pickle) + images/%05d.jpg."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from data_sources.bodies import camera, jpeg, random_params, world_to_cam_points
from hmr.body.dataset_bodies import BodyBank
from hmr.camera import project

W, H = 144, 192
K = np.array([[180.0, 0, 72.0], [0, 180.0, 96.0], [0, 0, 1]])


def make_emdb(root: Path, models_dir: Path, seed: int = 0, frames: int = 4) -> dict:
    rng = np.random.default_rng(seed)
    bank = BodyBank(models_dir)
    expected = {}
    for subject, seq_name, gender, flags in (
        ("P1", "14_outdoor_climb", "male", (True, False)),
        ("P3", "27_indoor_walk_off", "female", (False, True)),
    ):
        world = random_params(rng, "smpl", frames)
        world["betas"][:] = world["betas"][0]
        cams = [camera(rng, 4.0) for _ in range(frames)]
        good = np.ones(frames, bool)
        good[2] = False
        verts, joints = bank.forward("smpl", gender, world)
        kp2d, bboxes = [], []
        for t, (R, tr) in enumerate(cams):
            j_cam = world_to_cam_points(joints[t, :24], R, tr)
            kp2d.append(project(j_cam, K))
            xy = project(world_to_cam_points(verts[t], R, tr), K)
            bboxes.append(np.concatenate([xy.min(0), xy.max(0)]))
            if good[t]:
                expected[f"emdb/all/{subject}__{seq_name}__{t:05d}"] = [
                    {"verts_cam": world_to_cam_points(verts[t], R, tr), "joints_2d": kp2d[-1]}
                ]
        seq_dir = root / subject / seq_name
        (seq_dir / "images").mkdir(parents=True)
        data = {
            "gender": gender,
            "name": f"{subject}_{seq_name}",
            "emdb1": flags[0],
            "emdb2": flags[1],
            "n_frames": frames,
            "good_frames_mask": good,
            "camera": {
                "intrinsics": K,
                "width": W,
                "height": H,
                "extrinsics": np.stack(
                    [np.block([[R, t[:, None]], [np.zeros((1, 3)), np.ones((1, 1))]]) for R, t in cams]
                ),
            },
            "smpl": {
                "poses_root": world["global_orient"],
                "poses_body": world["body_pose"],
                "trans": world["transl"],
                "betas": world["betas"][0],
            },
            "kp2d": np.stack(kp2d),
            "bboxes": {"bboxes": np.stack(bboxes), "invalid_idxs": np.array([3])},
        }
        (seq_dir / f"{subject}_{seq_name}_data.pkl").write_bytes(pickle.dumps(data))
        for t in range(frames):
            (seq_dir / "images" / f"{t:05d}.jpg").write_bytes(jpeg(W, H, t))
    return expected
