"""EHF: ``XX_img.png|jpg``, ``XX_align.ply`` (SMPL-X mesh, world), ``XX_2Djnt.json`` (OpenPose 2D).

There are no parameters, only the ground-truth mesh, so the camera-frame vertices themselves
are stored (``verts_cam``, ``has_params`` false). The camera is fixed for all 100 frames.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from data_tools.base import Context, ConvertedImage, Converter, SourceItem, check_splits, require_glob, rescale
from hmr.camera import bbox_from_points, project, rotvec_to_matrix
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError

R_WC = rotvec_to_matrix(np.array([-2.98747896, 0.01172457, -0.05704687]))
T_WC = np.array([-0.03609917, 0.43416458, 2.37101226])
K_EHF = np.array([[1498.22426237, 0, 790.263706], [0, 1498.22426237, 578.90334], [0, 0, 1]])
_OPENPOSE_PARTS = (
    ("pose_keypoints_2d", 25),
    ("hand_left_keypoints_2d", 21),
    ("hand_right_keypoints_2d", 21),
    ("face_keypoints_2d", 70),
)


def read_openpose(path: Path) -> np.ndarray:
    """Body 25 + left hand 21 + right hand 21 + face 70 keypoints of the first person. (137, 3)"""
    people = json.loads(path.read_text()).get("people", [])
    if not people:
        return np.zeros((0, 3))
    parts = [np.asarray(people[0].get(k, []) or np.zeros(3 * n), np.float64).reshape(n, 3) for k, n in _OPENPOSE_PARTS]
    return np.concatenate(parts)


class Ehf(Converter):
    name = "ehf"
    license_tag = "smplx-research-only"
    splits = ("test",)
    description = "EHF: SMPL-X ground-truth meshes (.ply) with a fixed camera, 2D OpenPose (test only)"

    def check_source(self, src: Path) -> None:
        require_glob(src, "*_align.ply", hint="expected the EHF folder with XX_img.png, XX_align.ply, XX_2Djnt.json")

    def items(self, src: Path, splits: Sequence[str]) -> Iterator[SourceItem]:
        check_splits(splits, self.splits, self.name)
        for ply in sorted(src.glob("*_align.ply")):
            frame = ply.name[: -len("_align.ply")]
            image = next((f"{frame}_img.{e}" for e in ("png", "jpg") if (src / f"{frame}_img.{e}").exists()), None)
            if image is None:
                raise HmrError(f"{src}: {frame}_img.png (or .jpg) is missing next to {ply.name}")
            yield SourceItem("test", frame, image, {"ply": ply.name, "joints": f"{frame}_2Djnt.json"})

    def convert(self, item: SourceItem, ctx: Context) -> ConvertedImage:
        import trimesh

        image = ctx.load_image(item.image_path)
        mesh = trimesh.load(ctx.src / item.payload["ply"], process=False, force="mesh")
        verts_cam = np.asarray(mesh.vertices, np.float64) @ R_WC.T + T_WC
        joints_path = ctx.src / item.payload["joints"]
        kp2d = read_openpose(joints_path) if joints_path.exists() else np.zeros((0, 3))
        person = PersonLabel(
            body_model="smplx",
            gender="neutral",
            has_params=False,
            pgt_source="gt",
            verts_cam=verts_cam,
            bbox_xyxy=bbox_from_points(project(verts_cam, K_EHF), image.src_width, image.src_height),
            bbox_source="verts",
            kp2d=kp2d,
            kp2d_format="openpose137" if len(kp2d) else "",
        )
        return ConvertedImage(image, rescale(image, K_EHF, [person]), [person])
