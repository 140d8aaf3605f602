"""A tiny Human3.6M in the NeuralAnnot json layout (annotations/ + images/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from data_sources.bodies import camera, jpeg, random_params, world_to_cam_points
from hmr.body.dataset_bodies import BodyBank
from hmr.camera import project


def make_h36m(root: Path, models_dir: Path, seed: int = 0) -> dict:
    """Subjects 1 (train) and 9 (test), action 2, subaction 1, two cameras, two frames."""
    rng = np.random.default_rng(seed)
    bank = BodyBank(models_dir)
    (root / "annotations").mkdir(parents=True)
    expected = {}
    for subject, split in ((1, "train"), (9, "test")):
        world = random_params(rng, "smpl", 2)
        world["betas"][:] = world["betas"][0]
        verts, joints = bank.forward("smpl", "neutral", world)
        mocap_mm = joints[:, :17] * 1000.0  # the fixture's "mocap" joints: 17 model joints, world, mm
        cams, images, anns, img_id = {}, [], [], 0
        for cam_idx in (1, 2):
            R, t = camera(rng, 4.5)
            cams[str(cam_idx)] = {"R": R.tolist(), "t": (t * 1000).tolist(), "f": [110.0, 111.0], "c": [50.0, 51.0]}
            K = np.array([[110.0, 0, 50.0], [0, 111.0, 51.0], [0, 0, 1]])
            for frame in range(2):
                folder = f"s_{subject:02d}_act_02_subact_01_ca_{cam_idx:02d}"
                name = f"{folder}/{folder}_{frame + 1:06d}.jpg"
                (root / "images" / folder).mkdir(parents=True, exist_ok=True)
                (root / "images" / name).write_bytes(jpeg(100, 102, img_id))
                images.append(
                    {
                        "id": img_id,
                        "file_name": name,
                        "width": 100,
                        "height": 102,
                        "subject": subject,
                        "action_name": "Directions",
                        "action_idx": 2,
                        "subaction_idx": 1,
                        "cam_idx": cam_idx,
                        "frame_idx": frame,
                    }
                )
                anns.append(
                    {"id": img_id, "image_id": img_id, "keypoints_vis": [True] * 17, "bbox": [10.0, 5.0, 60.0, 90.0]}
                )
                j_cam = world_to_cam_points(joints[frame], R, t)
                expected[f"h36m/{split}/{folder}__{folder}_{frame + 1:06d}"] = [
                    {"verts_cam": world_to_cam_points(verts[frame], R, t), "joints_2d": project(j_cam, K)}
                ]
                img_id += 1
        prefix = root / "annotations" / f"Human36M_subject{subject}"
        Path(f"{prefix}_data.json").write_text(json.dumps({"images": images, "annotations": anns}))
        Path(f"{prefix}_camera.json").write_text(json.dumps(cams))
        Path(f"{prefix}_joint_3d.json").write_text(
            json.dumps({"2": {"1": {str(f): mocap_mm[f].tolist() for f in range(2)}}})
        )
        Path(f"{prefix}_SMPL_NeuralAnnot.json").write_text(
            json.dumps(
                {
                    "2": {
                        "1": {
                            str(f): {
                                "pose": np.concatenate([world["global_orient"][f], world["body_pose"][f]]).tolist(),
                                "shape": world["betas"][f].tolist(),
                                "trans": world["transl"][f].tolist(),
                            }
                            for f in range(2)
                        }
                    }
                }
            )
        )
    return expected
