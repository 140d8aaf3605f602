"""A tiny AGORA: Cam/train_0_withjv.pkl (pandas dataframe) + smplx_gt/**/*.pkl fits (torch tensors) + images."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from data_sources.bodies import random_params
from data_tools.convert_agora import agora_K
from hmr.body.dataset_bodies import BodyBank
from hmr.camera import project, rotvec_to_matrix

W, H = 384, 216  # a tenth of the 3840 x 2160 label resolution


def make_agora(root: Path, models_dir: Path, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    bank = BodyBank(models_dir)
    rows, expected = [], {}
    (root / "images" / "train").mkdir(parents=True)
    for i, img in enumerate(
        [
            "ag_trainset_renderpeople_bfh_archviz_5_10_cam02_00001.png",
            "ag_trainset_3dpeople_bfh_hdri_50mm_5_15_00003.png",
        ]
    ):
        genders, kids, fits, j2d, j3d = ["female", "male", "male"], [False, False, True], [], [], []
        K4k = agora_K(img, 3840, 2160)
        key = f"agora/train/{img[:-4]}"
        expected[key] = []
        for p, gender in enumerate(genders):
            local = random_params(rng, "smplx", 1)
            fit_rel = f"smplx_gt/trainset_renderpeople_adults_bfh/person_{i}_{p}.obj"
            _, joints = bank.forward("smplx", gender, local, flat_hand_mean=False)
            verts, _ = bank.forward("smplx", gender, local, flat_hand_mean=False)
            R = rotvec_to_matrix(rng.normal(0, 1, 3))
            t = np.array([rng.uniform(-1, 1), rng.uniform(-0.5, 0.5), rng.uniform(8, 12)])
            joints_cam = joints[0] @ R.T + t
            j3d.append(joints_cam)
            j2d.append(project(joints_cam, K4k))
            if not kids[p]:
                expected[key].append(
                    {"verts_cam": verts[0] @ R.T + t, "joints_2d": project(joints_cam, agora_K(img, W, H))}
                )
            fit = {k: torch.tensor(v, dtype=torch.float32) for k, v in local.items()}
            fit["betas"] = torch.tensor(np.concatenate([local["betas"], np.zeros((1, 1))], 1), dtype=torch.float32)
            path = root / fit_rel.replace(".obj", ".pkl")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(fit))
            fits.append(fit_rel)
        rows.append(
            {
                "imgPath": img,
                "X": [0.0] * 3,
                "Y": [0.0] * 3,
                "Z": [0.0] * 3,
                "Yaw": [0.0] * 3,
                "camX": 0.0,
                "camY": 0.0,
                "camZ": 0.0,
                "camYaw": 0.0,
                "gender": genders,
                "kid": kids,
                "occlusion": [5.0, 10.0, 0.0],
                "isValid": [True] * 3,
                "age": ["31-50"] * 3,
                "ethnicity": ["asian"] * 3,
                "gt_path_smpl": fits,
                "gt_path_smplx": fits,
                "gt_joints_2d": j2d,
                "gt_joints_3d": j3d,
            }
        )
        buf = io.BytesIO()
        Image.fromarray(np.full((H, W, 3), 90, np.uint8)).save(buf, "PNG")
        (root / "images" / "train" / img).write_bytes(buf.getvalue())
    (root / "Cam").mkdir()
    pd.DataFrame(rows).to_pickle(root / "Cam" / "train_0_withjv.pkl")
    return expected
