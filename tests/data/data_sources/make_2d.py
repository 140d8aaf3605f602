"""Tiny EHF and COCO / COCO-WholeBody sources in their real layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import trimesh

from data_sources.bodies import jpeg, png
from data_tools.convert_ehf import K_EHF, R_WC, T_WC
from hmr.camera import project


def make_ehf(root: Path, frames: int = 2, seed: int = 0, template: np.ndarray | None = None) -> dict:
    """XX_img.png (1600 x 1200), XX_align.ply (ASCII, world frame), XX_2Djnt.json; returns verts_cam per key.

    ``template``: a body mesh (V, 3) to place 2.5 m in front of the camera (default: 50 random points)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    expected = {}
    for i in range(1, frames + 1):
        if template is None:
            verts_cam = rng.normal(0, 0.3, (50, 3)) + [0, 0, 2.5]
        else:  # upright in the camera (y down), with a little noise per frame
            verts_cam = template * [1, -1, -1] + rng.normal(0, 0.003, template.shape) + [0, 0, 2.5]
        verts_world = (verts_cam - T_WC) @ R_WC  # inverse of v_cam = R v + t
        faces = np.array([[0, 1, 2], [2, 3, 4]])
        (root / f"{i:02d}_align.ply").write_bytes(
            trimesh.Trimesh(verts_world, faces, process=False).export(file_type="ply", encoding="ascii")
        )
        (root / f"{i:02d}_img.png").write_bytes(png(1600, 1200, i))
        body = np.concatenate([project(verts_cam[:25], K_EHF), np.full((25, 1), 0.8)], 1)
        people = {
            "people": [
                {
                    "pose_keypoints_2d": body.reshape(-1).tolist(),
                    "hand_left_keypoints_2d": [0.0] * 63,
                    "hand_right_keypoints_2d": [0.0] * 63,
                    "face_keypoints_2d": [0.0] * 210,
                }
            ]
        }
        (root / f"{i:02d}_2Djnt.json").write_text(json.dumps(people))
        expected[f"ehf/test/{i:02d}"] = {"verts_cam": verts_cam, "kp2d": body}
    return expected


def make_coco(root: Path, wholebody: bool = False) -> dict:
    """annotations/<json> + val2017/*.jpg: two images with persons, one crowd-only, one empty."""
    (root / "val2017").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    images, anns, expected = [], [], {}
    rng = np.random.default_rng(1)
    for img_id, (w, h), n_persons, crowd in (
        (139, (64, 48), 2, False),
        (285, (40, 60), 1, False),
        (632, (50, 50), 0, True),
        (724, (30, 30), 0, False),
    ):
        name = f"{img_id:012d}.jpg"
        (root / "val2017" / name).write_bytes(jpeg(w, h, img_id))
        images.append({"id": img_id, "file_name": name, "width": w, "height": h})
        kps = []
        for p in range(n_persons + int(crowd)):
            n_kp = 133 if wholebody else 17
            kp = np.concatenate([rng.uniform(0, min(w, h), (n_kp, 2)), rng.integers(0, 3, (n_kp, 1))], 1)
            ann = {
                "id": img_id * 10 + p,
                "image_id": img_id,
                "category_id": 1,
                "iscrowd": int(crowd),
                "bbox": [2.0, 3.0, 10.0, 20.0],
                "area": 200.0,
                "num_keypoints": int((kp[:, 2] > 0).sum()),
            }
            if wholebody:
                for name_, (a, b) in (
                    ("keypoints", (0, 17)),
                    ("foot_kpts", (17, 23)),
                    ("face_kpts", (23, 91)),
                    ("lefthand_kpts", (91, 112)),
                    ("righthand_kpts", (112, 133)),
                ):
                    ann[name_] = kp[a:b].reshape(-1).tolist()
                ann.update(
                    face_box=[0, 0, 1, 1],
                    lefthand_box=[0, 0, 1, 1],
                    righthand_box=[0, 0, 1, 1],
                    face_valid=True,
                    lefthand_valid=True,
                    righthand_valid=True,
                    foot_valid=True,
                )
            else:
                ann["keypoints"] = kp.reshape(-1).tolist()
            anns.append(ann)
            kps.append(kp)
        if n_persons:
            expected[f"{'coco-wholebody' if wholebody else 'coco'}/val/{img_id:012d}"] = kps
    data = {
        "info": {"version": "1.0"},
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "person"}],
    }
    name = "coco_wholebody_val_v1.0.json" if wholebody else "person_keypoints_val2017.json"
    (root / "annotations" / name).write_text(json.dumps(data))
    return expected


def make_coco_many(root: Path, n: int, size: tuple[int, int] = (48, 32), noise: bool = False) -> list[str]:
    """A COCO val split of ``n`` one-person images (flat grey, or noise that JPEG cannot squeeze)."""
    import io

    from PIL import Image

    (root / "val2017").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    w, h = size
    rng = np.random.default_rng(0)
    images, anns, keys = [], [], []
    for i in range(1, n + 1):
        name = f"{i:012d}.jpg"
        pixels = rng.integers(0, 255, (h, w, 3), dtype=np.uint8) if noise else np.full((h, w, 3), i % 255, np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=95)
        (root / "val2017" / name).write_bytes(buf.getvalue())
        images.append({"id": i, "file_name": name, "width": w, "height": h})
        kp = np.concatenate([rng.uniform(0, min(w, h), (17, 2)), np.full((17, 1), 2.0)], 1)
        anns.append(
            {
                "id": i,
                "image_id": i,
                "category_id": 1,
                "iscrowd": 0,
                "bbox": [1.0, 1.0, 5.0, 5.0],
                "area": 25.0,
                "num_keypoints": 17,
                "keypoints": kp.reshape(-1).tolist(),
            }
        )
        keys.append(f"coco/val/{i:012d}")
    (root / "annotations" / "person_keypoints_val2017.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]})
    )
    return keys
