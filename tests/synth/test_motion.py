"""Motion files (--poses): BVH and AMASS retargeted onto anny point its segments where the source's point."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hmr.body.anny_body import ANNY_BONE_GROUPS, AnnyBody
from hmr.errors import HmrError
from hmr.synth.motion import Retargeter, load_motion, load_motions
from hmr.synth.poses import PoseRig

# a CMU-style skeleton: Y-up, facing +z, the character's left at +x; (name, parent, offset, channels)
SKELETON = [
    ("Hips", None, (0, 0, 0), 6),
    ("LeftUpLeg", "Hips", (0.1, -0.05, 0), 3),
    ("LeftLeg", "LeftUpLeg", (0, -0.42, 0), 3),
    ("LeftFoot", "LeftLeg", (0, -0.42, 0), 3),
    ("LeftToeBase", "LeftFoot", (0, -0.05, 0.12), 3),
    ("RightUpLeg", "Hips", (-0.1, -0.05, 0), 3),
    ("RightLeg", "RightUpLeg", (0, -0.42, 0), 3),
    ("RightFoot", "RightLeg", (0, -0.42, 0), 3),
    ("RightToeBase", "RightFoot", (0, -0.05, 0.12), 3),
    ("Spine", "Hips", (0, 0.1, 0), 3),
    ("Spine1", "Spine", (0, 0.2, 0), 3),
    ("Neck", "Spine1", (0, 0.2, 0), 3),
    ("Head", "Neck", (0, 0.1, 0.02), 3),
    ("LeftShoulder", "Spine1", (0.03, 0.17, 0), 3),
    ("LeftArm", "LeftShoulder", (0.15, 0, 0), 3),
    ("LeftForeArm", "LeftArm", (0.28, 0, 0), 3),
    ("LeftHand", "LeftForeArm", (0.25, 0, 0), 3),
    ("RightShoulder", "Spine1", (-0.03, 0.17, 0), 3),
    ("RightArm", "RightShoulder", (-0.15, 0, 0), 3),
    ("RightForeArm", "RightArm", (-0.28, 0, 0), 3),
    ("RightHand", "RightForeArm", (-0.25, 0, 0), 3),
]
#: per-joint (Z, X, Y) degrees of the test pose, in the channel order Zrotation Xrotation Yrotation
POSE_DEG = {
    "Hips": (0, 0, 70),  # a heading, which the retargeted root orientation must not keep
    "LeftArm": (-90, 0, 0),  # upper arm hanging down
    "LeftForeArm": (0, 0, -90),  # forearm pointing forwards
    "RightUpLeg": (0, -90, 0),  # thigh forwards
    "RightLeg": (0, 90, 0),  # shin straight down again: knee bent 90 degrees
}
#: the segment directions this pose gives, in the body frame (left +x, up +y, forward +z), worked out by hand
EXPECTED = {
    ("upperarm01.L", "lowerarm01.L"): (0, -1, 0),
    ("lowerarm01.L", "wrist.L"): (0, 0, 1),
    ("upperarm01.R", "lowerarm01.R"): (-1, 0, 0),
    ("upperleg01.R", "lowerleg01.R"): (0, 0, 1),
    ("lowerleg01.R", "foot.R"): (0, -1, 0),
    ("upperleg01.L", "lowerleg01.L"): (0, -1, 0),
}


def write_bvh(path: Path, frames: int = 24, frame_time: float = 1 / 120, names: dict[str, str] | None = None) -> Path:
    names = names or {}
    children: dict[str | None, list[int]] = {}
    for i, (_, parent, _, _) in enumerate(SKELETON):
        children.setdefault(parent, []).append(i)
    lines = ["HIERARCHY"]

    def emit(i: int, depth: int) -> None:
        name, _, offset, channels = SKELETON[i]
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {names.get(name, name)}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET {offset[0]} {offset[1]} {offset[2]}")
        rot = "Zrotation Xrotation Yrotation"
        lines.append(f"{pad}  CHANNELS {channels} " + ("Xposition Yposition Zposition " if channels == 6 else "") + rot)
        kids = children.get(name, [])
        for k in kids:
            emit(k, depth + 1)
        if not kids:
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET 0 0.05 0", pad + "  }"])
        lines.append(pad + "}")

    emit(0, 0)
    row = []
    for name, _, _, channels in SKELETON:
        if channels == 6:
            row += [0.5, 0.95, -1.0]
        row += list(POSE_DEG.get(name, (0, 0, 0)))
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {frame_time}"]
    lines += [" ".join(str(v) for v in row)] * frames
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def rig() -> PoseRig:
    return PoseRig.from_body(AnnyBody())


@pytest.fixture(scope="module")
def retargeter(rig) -> Retargeter:
    return Retargeter(rig.rest_heads, rig.parents, rig.hinge_axes)


def _segment_directions(rig: PoseRig, global_orient: np.ndarray, body_pose: np.ndarray) -> dict:
    local = {"root": Rotation.from_rotvec(global_orient)}
    for bone, rotvec in zip(ANNY_BONE_GROUPS["body_pose"], body_pose):
        local[bone] = Rotation.from_rotvec(rotvec)
    heads = rig.posed_heads(local)
    from hmr.body.anny_body import ANNY_BONE_LABELS

    index = ANNY_BONE_LABELS.index
    return {(a, b): heads[index(b)] - heads[index(a)] for a, b in EXPECTED}


def _angle_deg(a: np.ndarray, b) -> float:
    b = np.asarray(b, np.float64)
    return math.degrees(math.acos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def test_bvh_segments_point_where_the_source_points_and_the_heading_is_removed(tmp_path, rig, retargeter):
    clip = load_motion(write_bvh(tmp_path / "pose.bvh"), retargeter, fps=10)
    assert clip.skeleton == "bvh" and clip.body_pose.shape == (2, 35, 3)  # 24 frames at 120 fps -> 0 and 12
    assert clip.fps == 10
    directions = _segment_directions(rig, clip.global_orient[0].astype(np.float64), clip.body_pose[0])
    for segment, expected in EXPECTED.items():
        assert _angle_deg(directions[segment], expected) < 3.0, segment
    # upright and facing +z: the 70 degree heading of the file is gone
    assert np.linalg.norm(clip.global_orient[0]) < math.radians(8)
    # root translation: the hip centre in metres, scaled by leg length (anny's legs / the file's)
    assert clip.root_translation_m.shape == (2, 3)
    assert np.allclose(clip.root_translation_m[0, 1], clip.root_translation_m[1, 1])


def test_amass_npz_in_a_z_up_world_retargets_like_the_same_pose(tmp_path, rig, retargeter):
    frames = 6
    poses = np.zeros((frames, 156))
    poses[:, :3] = [math.pi / 2, 0, 0]  # AMASS: the body stands up in a Z-up world
    poses[:, 18 * 3 : 18 * 3 + 3] = [0, -math.pi / 2, 0]  # left elbow: forearm forwards
    path = tmp_path / "walk_poses.npz"
    np.savez(path, poses=poses, trans=np.zeros((frames, 3)), mocap_framerate=np.array(30.0), betas=np.zeros(16))
    clip = load_motion(path, retargeter, fps=30)
    assert clip.skeleton == "amass" and len(clip.body_pose) == frames
    directions = _segment_directions(rig, clip.global_orient[0].astype(np.float64), clip.body_pose[0])
    assert _angle_deg(directions[("upperarm01.L", "lowerarm01.L")], (1, 0, 0)) < 8.0  # T-pose arm
    assert _angle_deg(directions[("lowerarm01.L", "wrist.L")], (0, 0, 1)) < 8.0
    assert _angle_deg(directions[("upperleg01.L", "lowerleg01.L")], (0, -1, 0)) < 8.0
    assert np.linalg.norm(clip.global_orient[0]) < math.radians(12)


def test_a_skeleton_without_limbs_hmr_knows_is_refused_in_one_line(tmp_path, retargeter):
    path = write_bvh(tmp_path / "robot.bvh", names={"LeftForeArm": "Joint7", "RightLeg": "Joint9"})
    with pytest.raises(HmrError) as err:
        load_motion(path, retargeter)
    message = str(err.value)
    assert "\n" not in message and "cannot retarget" in message
    assert "left elbow" not in message and "l_elbow" in message and "r_knee" in message


@pytest.mark.parametrize(
    "text, reason",
    [
        ("not a bvh", "not a BVH file"),
        ("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0", "truncated"),
        (None, "numbers"),  # motion rows missing
    ],
)
def test_damaged_bvh_files_are_reported_in_one_line(tmp_path, retargeter, text, reason):
    path = tmp_path / "bad.bvh"
    if text is None:
        write_bvh(path, frames=4)
        path.write_text(path.read_text().rsplit("\n", 3)[0] + "\n")  # drop the last rows
    else:
        path.write_text(text)
    with pytest.raises(HmrError) as err:
        load_motion(path, retargeter)
    assert reason in str(err.value) and "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_folder_keeps_the_good_files_and_lists_the_bad_ones(tmp_path):
    (tmp_path / "a").mkdir()
    write_bvh(tmp_path / "a" / "good.bvh")
    (tmp_path / "b.bvh").write_text("garbage")
    np.savez(tmp_path / "c.npz", something=np.zeros(3))
    (tmp_path / "notes.txt").write_text("ignored: not a motion file")
    clips, failures = load_motions(tmp_path, fps=10)
    assert [Path(c.source).name for c in clips] == ["good.bvh"]
    assert sorted(Path(f).name for f, _ in failures) == ["b.bvh", "c.npz"]
    assert all("\n" not in reason for _, reason in failures)
    (tmp_path / "empty").mkdir()
    with pytest.raises(HmrError, match="holds no .bvh or .npz"):
        load_motions(tmp_path / "empty", fps=10)
