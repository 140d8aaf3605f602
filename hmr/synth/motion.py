"""Poses from motion-capture files (``--poses``): BVH and AMASS ``.npz``, retargeted onto anny.

Skeletons differ in bone count, rest pose and units, so retargeting matches *directions*, not
rotations: the source clip is run through its own forward kinematics to joint positions, and
each anny segment (spine, neck, upper arm, forearm, thigh, shin, foot) is turned so that it
points where the matching source segment points. Upper limbs also take the bend plane of the
elbow / knee (two-vector alignment), so a bent arm keeps its twist. The root orientation comes
from the hips (left-right axis) and the spine (up), with the heading removed: the scene places
and turns each person itself (:mod:`hmr.synth.scene`). Hands, toes and eyes keep the sampler's.

BVH is read by a small parser of our own: the format is a dozen keywords, and the parser needs
to report a damaged file in one line rather than a library's traceback. BVH worlds are Y-up
(CMU, Mixamo and most exporters); AMASS worlds are Z-up, SMPL(-H/-X) joint rotations, which
are run on a generic SMPL-like rest skeleton (directions only, written here; no body-model file
is needed).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from hmr.body.anny_body import ANNY_BONE_GROUPS, ANNY_BONE_LABELS
from hmr.errors import HmrError
from hmr.synth.directions import swing, unit

MOTION_SUFFIXES = (".bvh", ".npz")

#: canonical joint -> source joint names (normalised: lower case, no namespace or separators), best first
JOINT_ALIASES: dict[str, tuple[str, ...]] = {
    "hips": ("hips", "hip", "pelvis", "root"),
    "spine_top": ("neck", "neck1", "lowerneck", "neckbase", "spine3", "chest2", "upperchest", "chest", "thorax"),
    "head": ("head", "headtop"),
    "l_hip": ("leftupleg", "leftthigh", "lefthip", "lthigh", "lhip", "lupleg", "lfemur", "leftupperleg"),
    "l_knee": ("leftleg", "leftknee", "leftshin", "leftlowerleg", "lknee", "lshin", "lleg", "ltibia"),
    "l_ankle": ("leftfoot", "leftankle", "lfoot", "lankle"),
    "l_toe": ("lefttoebase", "lefttoe", "ltoebase", "ltoe", "ltoes", "lefttoes"),
    "l_shoulder": ("leftarm", "leftupperarm", "lupperarm", "lhumerus", "lshoulder", "leftshoulder"),
    "l_elbow": ("leftforearm", "leftelbow", "leftlowerarm", "lforearm", "lelbow", "lradius", "llowerarm"),
    "l_wrist": ("lefthand", "leftwrist", "lhand", "lwrist"),
}
for _key in [k for k in JOINT_ALIASES if k.startswith("l_")]:
    JOINT_ALIASES["r" + _key[1:]] = tuple(
        ("right" + n[4:]) if n.startswith("left") else ("r" + n[1:]) for n in JOINT_ALIASES[_key]
    )
REQUIRED: tuple[str, ...] = ("hips", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")
REQUIRED += ("l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist")

#: AMASS / SMPL kinematic tree (22 body joints) and a generic rest skeleton for it: offsets from
#: the parent in metres, Y-up, facing +z, left = +x, arms horizontal (the T-pose SMPL rests in)
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
SMPL_REST_OFFSETS_M = np.array(
    [
        [0, 0, 0], [0.08, -0.09, 0], [-0.08, -0.09, 0], [0, 0.11, -0.01], [0.01, -0.38, 0], [-0.01, -0.38, 0],
        [0, 0.13, 0], [0, -0.40, -0.04], [0, -0.40, -0.04], [0, 0.05, 0.02], [0, -0.05, 0.12], [0, -0.05, 0.12],
        [0, 0.21, -0.03], [0.07, 0.12, -0.01], [-0.07, 0.12, -0.01], [0, 0.09, 0.05], [0.11, 0.04, -0.01],
        [-0.11, 0.04, -0.01], [0.26, 0, -0.02], [-0.26, 0, -0.02], [0.25, 0, 0], [-0.25, 0, 0],
    ],
    dtype=np.float64,
)  # fmt: skip
SMPL_JOINTS = {
    "hips": 0, "l_hip": 1, "r_hip": 2, "l_knee": 4, "r_knee": 5, "l_ankle": 7, "r_ankle": 8, "l_toe": 10,
    "r_toe": 11, "spine_top": 12, "head": 15, "l_shoulder": 16, "r_shoulder": 17, "l_elbow": 18, "r_elbow": 19,
    "l_wrist": 20, "r_wrist": 21,
}  # fmt: skip
Z_UP_TO_Y_UP = Rotation.from_rotvec([-math.pi / 2, 0.0, 0.0])


@dataclass
class MotionClip:
    """A motion retargeted onto anny: per-frame parameters as :class:`hmr.body.anny_body.AnnyBody` takes them."""

    global_orient: np.ndarray  # (T, 3) root orientation in a Y-up world, heading removed
    body_pose: np.ndarray  # (T, 35, 3) local rotations of ANNY_BONE_GROUPS["body_pose"]
    root_translation_m: np.ndarray  # (T, 3) hip centre in the Y-up world, metres (source heading kept)
    fps: float
    source: str
    skeleton: str  # "bvh" or "amass"


@dataclass
class JointTrack:
    """Source joint positions over time, in a Y-up world."""

    positions: dict[str, np.ndarray]  # canonical joint -> (T, 3)
    leg_length: float  # hip -> knee -> ankle at rest, source units (for the translation's scale)
    fps: float


# --- reading -----------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.split(":")[-1].split("|")[-1].lower())


@dataclass
class _BvhJoint:
    name: str
    parent: int
    offset: np.ndarray
    channels: list[str]


def _parse_bvh(text: str, path: Path) -> tuple[list[_BvhJoint], np.ndarray, float]:
    tokens = text.split()
    joints: list[_BvhJoint] = []
    stack: list[int] = []
    i = 0

    def need(count: int) -> list[str]:
        nonlocal i
        if i + count > len(tokens):
            raise HmrError(f"{path}: BVH ends inside the HIERARCHY; the file is truncated")
        out = tokens[i : i + count]
        i += count
        return out

    if not tokens or tokens[0].upper() != "HIERARCHY":
        raise HmrError(f"{path}: not a BVH file (it does not start with HIERARCHY)")
    i = 1
    pending_end = False
    while i < len(tokens) and tokens[i].upper() != "MOTION":
        word = need(1)[0]
        upper = word.upper()
        if upper in ("ROOT", "JOINT"):
            name = need(1)[0]
            joints.append(_BvhJoint(name, stack[-1] if stack else -1, np.zeros(3), []))
            pending_end = False
        elif upper == "END":
            need(1)  # "Site"
            pending_end = True
        elif word == "{":
            stack.append(-2 if pending_end else len(joints) - 1)
            pending_end = False
        elif word == "}":
            if not stack:
                raise HmrError(f"{path}: unbalanced braces in the BVH HIERARCHY")
            stack.pop()
        elif upper == "OFFSET":
            values = need(3)
            if stack and stack[-1] >= 0:
                joints[stack[-1]].offset = np.array([float(v) for v in values])
        elif upper == "CHANNELS":
            count = int(need(1)[0])
            joints[stack[-1]].channels = [c.lower() for c in need(count)]
        else:
            raise HmrError(f"{path}: unexpected '{word}' in the BVH HIERARCHY")
    # an End Site's joint is -2 on the stack: restore real parents
    for j in joints:
        if j.parent == -2:
            raise HmrError(f"{path}: a joint is declared inside an End Site")
    if not joints:
        raise HmrError(f"{path}: the BVH HIERARCHY holds no joints")
    head = tokens[i : i + 6]
    if len(head) < 6 or head[1].lower() != "frames:" or head[3].lower() != "frame" or head[4].lower() != "time:":
        raise HmrError(f"{path}: BVH MOTION section lacks 'Frames:' and 'Frame Time:'")
    frames, frame_time = int(head[2]), float(head[5])
    width = sum(len(j.channels) for j in joints)
    numbers = np.array(tokens[i + 6 :], dtype=np.float64)
    if frames < 1 or frame_time <= 0 or numbers.size < frames * width:
        raise HmrError(f"{path}: BVH motion holds {numbers.size} numbers, {frames} frames x {width} channels expected")
    return joints, numbers[: frames * width].reshape(frames, width), 1.0 / frame_time


def _bvh_positions(joints: list[_BvhJoint], motion: np.ndarray) -> np.ndarray:
    """(T, J, 3) joint positions: a joint's channels rotate its children, in the listed order."""
    frames = len(motion)
    positions = np.zeros((frames, len(joints), 3))
    rotations: list[Rotation] = []
    column = 0
    for j, joint in enumerate(joints):
        cols = {c: column + k for k, c in enumerate(joint.channels)}
        column += len(joint.channels)
        axes = "".join(c[0].upper() for c in joint.channels if c.endswith("rotation"))
        if axes:
            angles = np.stack([motion[:, cols[f"{a.lower()}rotation"]] for a in axes], 1)
            local = Rotation.from_euler(axes, angles, degrees=True)
        else:
            local = Rotation.identity(frames)
        translation = np.zeros((frames, 3))
        for k, axis in enumerate("xyz"):
            if f"{axis}position" in cols:
                translation[:, k] = motion[:, cols[f"{axis}position"]]
        if joint.parent < 0:
            positions[:, j] = translation + joint.offset
            rotations.append(local)
        else:
            p = joint.parent
            positions[:, j] = positions[:, p] + rotations[p].apply(joint.offset)
            rotations.append(rotations[p] * local)
    return positions


def _find_joints(names: list[str], path: Path) -> dict[str, int]:
    normal = [normalise_name(n) for n in names]
    found: dict[str, int] = {}
    for key, aliases in JOINT_ALIASES.items():
        for alias in aliases:
            if alias in normal:
                found[key] = normal.index(alias)
                break
    if found.get("l_shoulder") is not None and found.get("l_shoulder") == found.get("r_shoulder"):
        found.pop("l_shoulder")
    missing = [k for k in REQUIRED if k not in found]
    if "spine_top" not in found and "head" not in found:
        missing.append("neck or head")
    if missing:
        raise HmrError(
            f"{path}: cannot retarget this skeleton onto anny: no joint for {', '.join(missing)} "
            f"(joints: {', '.join(names[:12])}{'...' if len(names) > 12 else ''}); "
            "hmr reads skeletons with CMU / Mixamo-style joint names"
        )
    return found


def read_bvh(path: Path) -> JointTrack:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise HmrError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        joints, motion, fps = _parse_bvh(text, path)
    except (ValueError, IndexError, KeyError) as e:
        raise HmrError(f"{path}: damaged BVH file ({e})") from None
    found = _find_joints([j.name for j in joints], path)
    try:
        world = _bvh_positions(joints, motion)
    except KeyError as e:
        raise HmrError(f"{path}: BVH joint channels are incomplete ({e})") from None
    positions = {key: world[:, j] for key, j in found.items()}
    rest = {key: _rest_position(joints, j) for key, j in found.items()}
    leg = float(np.linalg.norm(rest["l_knee"] - rest["l_hip"]) + np.linalg.norm(rest["l_ankle"] - rest["l_knee"]))
    return JointTrack(positions, leg, fps)


def _rest_position(joints: list[_BvhJoint], j: int) -> np.ndarray:
    out = np.zeros(3)
    while j >= 0:
        out += joints[j].offset
        j = joints[j].parent
    return out


def read_amass(path: Path) -> JointTrack:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise HmrError(f"{path}: cannot read as .npz ({e})") from None
    if "poses" in arrays:
        poses = np.asarray(arrays["poses"], np.float64)
    elif "root_orient" in arrays and "pose_body" in arrays:
        poses = np.concatenate([arrays["root_orient"], arrays["pose_body"]], 1).astype(np.float64)
    else:
        raise HmrError(f"{path}: not an AMASS file (no 'poses' or 'root_orient' + 'pose_body' arrays)")
    if poses.ndim != 2 or poses.shape[1] < 66 or len(poses) < 1:
        raise HmrError(f"{path}: AMASS poses have shape {poses.shape}; (T, >= 66) axis-angle values expected")
    fps = float(np.asarray(arrays.get("mocap_framerate", arrays.get("mocap_frame_rate", 0.0))))
    if not fps > 0:
        raise HmrError(f"{path}: AMASS file has no positive 'mocap_framerate'")
    trans = np.asarray(arrays.get("trans", np.zeros((len(poses), 3))), np.float64)
    frames = len(poses)
    local = Rotation.from_rotvec(poses[:, :66].reshape(-1, 3)).as_matrix().reshape(frames, 22, 3, 3)
    rotations = np.zeros_like(local)
    positions = np.zeros((frames, 22, 3))
    for j, p in enumerate(SMPL_PARENTS):
        if p < 0:
            rotations[:, j] = local[:, j]
            positions[:, j] = trans
        else:
            rotations[:, j] = rotations[:, p] @ local[:, j]
            positions[:, j] = positions[:, p] + rotations[:, p] @ SMPL_REST_OFFSETS_M[j]
    world = Z_UP_TO_Y_UP.apply(positions.reshape(-1, 3)).reshape(positions.shape)
    leg = float(np.linalg.norm(SMPL_REST_OFFSETS_M[4]) + np.linalg.norm(SMPL_REST_OFFSETS_M[7]))
    return JointTrack({key: world[:, j] for key, j in SMPL_JOINTS.items()}, leg, fps)


# --- retargeting -------------------------------------------------------------------------------


def body_frame(left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Columns (left, up, forward) of a body frame from the hip axis and the spine direction."""
    x = unit(left)
    y = unit(up - np.dot(up, x) * x)
    return np.stack([x, y, np.cross(x, y)], 1)


#: anny segment (bone, bone whose head ends it) -> source segment (start joint, end joint)
LIMBS = (
    ("upperarm01", "lowerarm01", "shoulder", "elbow", "wrist"),
    ("upperleg01", "lowerleg01", "hip", "knee", "ankle"),
)
#: smallest bend (degrees) at which an elbow / knee plane is trusted for the limb's twist
MIN_BEND_DEG = 12.0


class Retargeter:
    """Anny local rotations that point anny's segments along a source skeleton's."""

    def __init__(self, rest_heads: np.ndarray, parents: list[int], hinge_axes: dict[str, np.ndarray]) -> None:
        self.rest = {label: rest_heads[i] for i, label in enumerate(ANNY_BONE_LABELS)}
        self.parents = {label: (ANNY_BONE_LABELS[p] if p >= 0 else None) for label, p in zip(ANNY_BONE_LABELS, parents)}
        self.hinge_axes = hinge_axes
        mid_hip = (self.rest["upperleg01.L"] + self.rest["upperleg01.R"]) / 2
        self.rest_frame = body_frame(
            self.rest["upperleg01.L"] - self.rest["upperleg01.R"], self.rest["neck01"] - mid_hip
        )
        self.leg_length = float(
            np.linalg.norm(self.rest["lowerleg01.L"] - self.rest["upperleg01.L"])
            + np.linalg.norm(self.rest["foot.L"] - self.rest["lowerleg01.L"])
        )
        self.body_index = {b: i for i, b in enumerate(ANNY_BONE_GROUPS["body_pose"])}

    def frame(self, joints: dict[str, np.ndarray]) -> tuple[Rotation, dict[str, np.ndarray]]:
        """(root orientation without heading, body-frame joint positions relative to the hip centre)."""
        mid_hip = (joints["l_hip"] + joints["r_hip"]) / 2
        top = joints.get("spine_top", joints.get("head"))
        source = body_frame(joints["l_hip"] - joints["r_hip"], top - mid_hip)
        forward = source[:, 2]
        heading = math.atan2(forward[0], forward[2])
        unturn = Rotation.from_rotvec([0.0, -heading, 0.0])
        root = unturn * Rotation.from_matrix(source @ self.rest_frame.T)
        local = {k: unturn.apply(v - mid_hip) for k, v in joints.items()}
        return root, local

    def pose(self, joints: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(global_orient (3,), body_pose (35, 3)) for one frame of source joint positions."""
        root, local_joints = self.frame(joints)
        to_root = root.inv()
        j = {k: to_root.apply(v) for k, v in local_joints.items()}  # source joints in anny's root frame
        local: dict[str, Rotation] = {}
        glob: dict[str, Rotation] = {}

        def global_of(bone: str | None) -> Rotation:
            if bone is None:
                return Rotation.identity()
            if bone not in glob:
                glob[bone] = global_of(self.parents[bone]) * local.get(bone, Rotation.identity())
            return glob[bone]

        def aim(bone: str, end: str, target: np.ndarray, chain: tuple[str, ...] = ()) -> None:
            """Point segment bone -> end along ``target``, the rotation shared over ``chain`` (default: bone)."""
            bones = chain or (bone,)
            parent = global_of(self.parents[bones[0]])
            rest = self.rest[end] - self.rest[bone]
            rotation = swing(rest, parent.inv().apply(target))
            share = Rotation.from_rotvec(rotation.as_rotvec() / len(bones))
            for b in bones:
                local[b] = share
            glob.clear()

        mid_hip = (j["l_hip"] + j["r_hip"]) / 2
        spine = ("spine05", "spine04", "spine03", "spine02", "spine01")
        if "spine_top" in j:
            aim("spine05", "neck01", j["spine_top"] - mid_hip, spine)
            if "head" in j:
                aim("neck01", "head", j["head"] - j["spine_top"], ("neck01", "neck02", "neck03"))
        for anny_upper, anny_lower, start, mid, end in LIMBS:
            for side, s in (("L", "l_"), ("R", "r_")):
                upper, lower = f"{anny_upper}.{side}", f"{anny_lower}.{side}"
                a, b = j[s + mid] - j[s + start], j[s + end] - j[s + mid]
                parent = global_of(self.parents[upper])
                rest_a = self.rest[lower] - self.rest[upper]
                a_in_parent, b_in_parent = parent.inv().apply(a), parent.inv().apply(b)
                bend = math.degrees(math.acos(np.clip(np.dot(unit(a), unit(b)), -1.0, 1.0)))
                if bend >= MIN_BEND_DEG:
                    hinge_target = unit(np.cross(a_in_parent, b_in_parent))
                    rotation, _ = Rotation.align_vectors(
                        [unit(a_in_parent), hinge_target], [unit(rest_a), self.hinge_axes[lower]], weights=[np.inf, 1]
                    )
                else:
                    rotation = swing(rest_a, a_in_parent)
                local[upper] = rotation
                glob.clear()
                end_bone = "wrist" if anny_lower == "lowerarm01" else "foot"
                aim(lower, f"{end_bone}.{side}", b)
                if end_bone == "foot" and s + "toe" in j:
                    aim(f"foot.{side}", f"toe3-1.{side}", j[s + "toe"] - j[s + "ankle"])
        body_pose = np.zeros((len(self.body_index), 3))
        for bone, rotation in local.items():
            body_pose[self.body_index[bone]] = rotation.as_rotvec()
        return root.as_rotvec(), body_pose

    def clip(self, track: JointTrack, fps: float, source: str, skeleton: str) -> MotionClip:
        """Retarget the frames of ``track`` sampled at ``fps`` (every frame when the track is slower)."""
        frames = len(next(iter(track.positions.values())))
        step = max(track.fps / fps, 1.0)
        keep = np.unique(np.floor(np.arange(0.0, frames, step)).astype(int))
        orients, poses = [], []
        for t in keep:
            o, p = self.pose({k: v[t] for k, v in track.positions.items()})
            orients.append(o)
            poses.append(p)
        mid_hip = (track.positions["l_hip"][keep] + track.positions["r_hip"][keep]) / 2
        scale = self.leg_length / max(track.leg_length, 1e-9)
        return MotionClip(
            global_orient=np.asarray(orients, np.float32),
            body_pose=np.asarray(poses, np.float32),
            root_translation_m=(mid_hip * scale).astype(np.float32),
            fps=float(min(fps, track.fps)),
            source=source,
            skeleton=skeleton,
        )


def load_motion(path: str | Path, retargeter: Retargeter, fps: float = 10.0) -> MotionClip:
    """One motion file retargeted onto anny; :class:`HmrError` with a one-line reason when it cannot be."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        track, skeleton = read_bvh(path), "bvh"
    elif suffix == ".npz":
        track, skeleton = read_amass(path), "amass"
    else:
        raise HmrError(f"{path}: not a motion file hmr reads (BVH .bvh or AMASS .npz)")
    if not all(np.isfinite(v).all() for v in track.positions.values()):
        raise HmrError(f"{path}: motion holds NaN or infinite values")
    return retargeter.clip(track, fps, str(path), skeleton)


def motion_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MOTION_SUFFIXES)
    return [path]


def load_motions(path: str | Path, fps: float = 10.0) -> tuple[list[MotionClip], list[tuple[str, str]]]:
    """Every motion file at ``path`` (a file or a folder, searched recursively): (clips, [(file, reason)])."""
    from hmr.body.anny_body import AnnyBody
    from hmr.synth.poses import PoseRig

    path = Path(path)
    files = motion_files(path)
    if not files:
        raise HmrError(f"--poses {path} holds no .bvh or .npz motion files")
    rig = PoseRig.from_body(AnnyBody())
    retargeter = Retargeter(rig.rest_heads, rig.parents, rig.hinge_axes)
    clips, failures = [], []
    for file in files:
        try:
            clips.append(load_motion(file, retargeter, fps))
        except HmrError as e:
            failures.append((str(file), str(e)))
    return clips, failures
