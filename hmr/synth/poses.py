"""Poses of the synthetic people: authored key poses, perturbed and blended within joint limits.

No motion-capture data can be downloaded here, so the pose prior is a library of key poses of
everyday activities written as anatomical angles (:class:`PoseSpec`: how far an arm is raised and
in which direction, how much the elbow bends, hip flexion, spine bend...). Angles are what joint
limits are written in, so perturbing, blending (two poses of one family) and clamping all happen
on them, and every sample stays anatomical by construction. :class:`PoseRig` turns a spec into
anny's local bone rotations: a segment is swung from its rest direction onto the direction the
angles give (in its parent's frame), hinges rotate about their rest flexion axis.

Samples whose limbs pass through the body are rejected (:mod:`hmr.synth.self_contact`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from hmr.body.anny_body import ANNY_BONE_GROUPS, ANNY_BONE_LABELS, AnnyBody
from hmr.synth.directions import swing, unit
from hmr.synth.self_contact import CapsuleBody

#: (low, high) degrees of every angle of a PoseSpec; arms and legs per side
LIMITS_DEG: dict[str, tuple[float, float]] = {
    "arm_elev": (0.0, 175.0),  # upper arm from hanging down (0) through horizontal (90) to overhead
    "arm_azim": (-100.0, 140.0),  # direction of raising: 0 sideways, 90 forwards, negative backwards
    "arm_twist": (-80.0, 80.0),  # rotation of the upper arm about itself
    "elbow": (0.0, 150.0),
    "wrist": (-70.0, 70.0),
    "hip_flex": (-30.0, 130.0),
    "hip_abd": (-25.0, 60.0),
    "hip_twist": (-40.0, 40.0),
    "knee": (0.0, 155.0),
    "ankle": (-45.0, 40.0),
    "spine_flex": (-30.0, 80.0),
    "spine_side": (-35.0, 35.0),
    "spine_twist": (-45.0, 45.0),
    "neck_flex": (-40.0, 50.0),
    "head_yaw": (-70.0, 70.0),
    "head_pitch": (-40.0, 40.0),
}
#: standard deviation (degrees) of the perturbation of each angle
NOISE_DEG = {
    "arm_elev": 10.0,
    "arm_azim": 12.0,
    "arm_twist": 10.0,
    "elbow": 10.0,
    "wrist": 10.0,
    "hip_flex": 7.0,
    "hip_abd": 4.0,
    "hip_twist": 6.0,
    "knee": 7.0,
    "ankle": 5.0,
    "spine_flex": 5.0,
    "spine_side": 4.0,
    "spine_twist": 7.0,
    "neck_flex": 8.0,
    "head_yaw": 18.0,
    "head_pitch": 8.0,
}
HAND_SHAPES_DEG = {  # flexion of the three finger joints, and of the thumb
    "open": (0.0, 0.0),
    "relaxed": (25.0, 15.0),
    "grip": (60.0, 30.0),
    "fist": (95.0, 45.0),
    "point": (95.0, 45.0),  # index straight, see PoseRig.hand
}


@dataclass(frozen=True)
class Arm:
    elev: float = 8.0
    azim: float = 0.0
    elbow: float = 10.0
    twist: float = 0.0
    wrist: float = 0.0


@dataclass(frozen=True)
class Leg:
    flex: float = 0.0
    abd: float = 3.0
    knee: float = 3.0
    ankle: float = 0.0
    twist: float = 0.0


@dataclass(frozen=True)
class PoseSpec:
    """A whole-body pose in anatomical angles (degrees). ``root_pitch`` > 0 tips the body forwards
    (90: lying face down), ``root_roll`` > 0 onto its right side."""

    name: str
    family: str = ""
    arm_l: Arm = Arm()
    arm_r: Arm = Arm()
    leg_l: Leg = Leg()
    leg_r: Leg = Leg()
    spine_flex: float = 0.0
    spine_side: float = 0.0  # > 0 bends to the body's left
    spine_twist: float = 0.0  # > 0 turns the chest to the body's left
    neck_flex: float = 0.0
    head_yaw: float = 0.0  # > 0 looks to the body's left
    head_pitch: float = 0.0  # > 0 looks down
    root_pitch: float = 0.0
    root_roll: float = 0.0
    hands: tuple[str, str] = ("relaxed", "relaxed")

    def mirrored(self) -> PoseSpec:
        """The same pose with left and right swapped."""
        return dataclasses.replace(
            self,
            name=self.name + "~mirror",
            arm_l=self.arm_r,
            arm_r=self.arm_l,
            leg_l=self.leg_r,
            leg_r=self.leg_l,
            spine_side=-self.spine_side,
            spine_twist=-self.spine_twist,
            head_yaw=-self.head_yaw,
            root_roll=-self.root_roll,
            hands=(self.hands[1], self.hands[0]),
        )


def _angles(spec: PoseSpec) -> dict[str, float]:
    out = {
        k: getattr(spec, k) for k in ("spine_flex", "spine_side", "spine_twist", "neck_flex", "head_yaw", "head_pitch")
    }
    for side in ("l", "r"):
        arm, leg = getattr(spec, f"arm_{side}"), getattr(spec, f"leg_{side}")
        out.update({f"arm_{k}_{side}": getattr(arm, k) for k in ("elev", "azim", "twist")})
        out[f"elbow_{side}"], out[f"wrist_{side}"] = arm.elbow, arm.wrist
        out[f"hip_flex_{side}"], out[f"hip_abd_{side}"], out[f"hip_twist_{side}"] = leg.flex, leg.abd, leg.twist
        out[f"knee_{side}"], out[f"ankle_{side}"] = leg.knee, leg.ankle
    return out


def _limit_key(angle: str) -> str:
    return angle[:-2] if angle.endswith(("_l", "_r")) else angle


def _from_angles(spec: PoseSpec, angles: dict[str, float]) -> PoseSpec:
    limbs: dict[str, Any] = {}
    for side in ("l", "r"):
        limbs[f"arm_{side}"] = Arm(
            elev=angles[f"arm_elev_{side}"],
            azim=angles[f"arm_azim_{side}"],
            elbow=angles[f"elbow_{side}"],
            twist=angles[f"arm_twist_{side}"],
            wrist=angles[f"wrist_{side}"],
        )
        limbs[f"leg_{side}"] = Leg(
            flex=angles[f"hip_flex_{side}"],
            abd=angles[f"hip_abd_{side}"],
            knee=angles[f"knee_{side}"],
            ankle=angles[f"ankle_{side}"],
            twist=angles[f"hip_twist_{side}"],
        )
    trunk: dict[str, Any] = {
        k: angles[k] for k in ("spine_flex", "spine_side", "spine_twist", "neck_flex", "head_yaw", "head_pitch")
    }
    return dataclasses.replace(spec, **limbs, **trunk)


#: an arm raised behind the body (azimuth below this) goes no higher than BACKWARD_ELEV_MAX_DEG
BACKWARD_AZIM_DEG = -45.0
BACKWARD_ELEV_MAX_DEG = 60.0


def _limits(angle: str, angles: dict[str, float]) -> tuple[float, float]:
    """(low, high) of one angle; an arm's elevation depends on its direction (shoulder extension is short)."""
    low, high = LIMITS_DEG[_limit_key(angle)]
    if angle.startswith("arm_elev") and angles["arm_azim" + angle[-2:]] < BACKWARD_AZIM_DEG:
        high = BACKWARD_ELEV_MAX_DEG
    return low, high


def clamp_to_limits(spec: PoseSpec) -> PoseSpec:
    angles = _angles(spec)
    angles = {k: float(np.clip(v, *LIMITS_DEG[_limit_key(k)])) for k, v in angles.items()}
    return _from_angles(spec, {k: float(np.clip(v, *_limits(k, angles))) for k, v in angles.items()})


def within_limits(spec: PoseSpec) -> bool:
    angles = _angles(spec)
    return all(_limits(k, angles)[0] <= v <= _limits(k, angles)[1] for k, v in angles.items())


def blend(a: PoseSpec, b: PoseSpec, weight_b: float) -> PoseSpec:
    """Angles interpolated between two poses (both within limits, so the blend is too)."""
    aa, bb = _angles(a), _angles(b)
    mixed = _from_angles(a, {k: (1 - weight_b) * aa[k] + weight_b * bb[k] for k in aa})
    return dataclasses.replace(mixed, name=f"{a.name}+{b.name}")


def perturb(spec: PoseSpec, rng: np.random.Generator, scale: float = 1.0) -> PoseSpec:
    angles = _angles(spec)
    noisy = {k: v + scale * NOISE_DEG[_limit_key(k)] * rng.standard_normal() for k, v in angles.items()}
    return clamp_to_limits(_from_angles(spec, noisy))


def _k(name: str, family: str = "", **kw) -> PoseSpec:
    return PoseSpec(name=name, family=family or name, **kw)


#: the authored library: everyday activities, sports, dance, yoga; mirrored at sampling time
KEY_POSES: tuple[PoseSpec, ...] = (
    _k("stand_relaxed", "stand"),
    _k("stand_weight_shift", "stand", leg_l=Leg(flex=5, knee=12), spine_side=4, arm_r=Arm(elev=12, elbow=20)),
    _k(
        "stand_arms_crossed",
        arm_l=Arm(elev=35, azim=75, elbow=125, twist=-30),
        arm_r=Arm(elev=35, azim=75, elbow=125, twist=30),
    ),
    _k(
        "hands_on_hips",
        arm_l=Arm(elev=40, azim=-20, elbow=105, twist=40),
        arm_r=Arm(elev=40, azim=-20, elbow=105, twist=-40),
    ),
    _k(
        "hands_behind_head",
        arm_l=Arm(elev=150, azim=20, elbow=140, twist=20),
        arm_r=Arm(elev=150, azim=20, elbow=140, twist=-20),
    ),
    _k("t_pose", arm_l=Arm(elev=90, elbow=0), arm_r=Arm(elev=90, elbow=0), hands=("open", "open")),
    _k("a_pose", arm_l=Arm(elev=45, elbow=5), arm_r=Arm(elev=45, elbow=5), hands=("open", "open")),
    _k(
        "shrug",
        arm_l=Arm(elev=30, azim=40, elbow=90, twist=-40),
        arm_r=Arm(elev=30, azim=40, elbow=90, twist=40),
        head_pitch=-5,
        hands=("open", "open"),
    ),
    _k(
        "walk_a",
        "walk",
        arm_l=Arm(elev=20, azim=90, elbow=25),
        arm_r=Arm(elev=15, azim=-90, elbow=15),
        leg_l=Leg(flex=-15, knee=10, ankle=10),
        leg_r=Leg(flex=22, knee=8, ankle=-5),
    ),
    _k(
        "walk_b",
        "walk",
        arm_l=Arm(elev=10, azim=90, elbow=20),
        arm_r=Arm(elev=8, azim=-60, elbow=15),
        leg_l=Leg(flex=-5, knee=40, ankle=-15),
        leg_r=Leg(flex=10, knee=5),
    ),
    _k(
        "walk_c",
        "walk",
        leg_l=Leg(flex=25, knee=15, ankle=-5),
        leg_r=Leg(flex=-18, knee=15, ankle=15),
        arm_l=Arm(elev=15, azim=-90, elbow=15),
        arm_r=Arm(elev=20, azim=90, elbow=25),
    ),
    _k(
        "run_a",
        "run",
        spine_flex=12,
        arm_l=Arm(elev=45, azim=100, elbow=95),
        arm_r=Arm(elev=35, azim=-80, elbow=90),
        leg_l=Leg(flex=-20, knee=75, ankle=-20),
        leg_r=Leg(flex=55, knee=60, ankle=5),
        hands=("grip", "grip"),
    ),
    _k(
        "run_b",
        "run",
        spine_flex=10,
        arm_l=Arm(elev=30, azim=-80, elbow=90),
        arm_r=Arm(elev=45, azim=100, elbow=95),
        leg_l=Leg(flex=45, knee=25, ankle=-10),
        leg_r=Leg(flex=-15, knee=100, ankle=-25),
        hands=("grip", "grip"),
    ),
    _k(
        "sit_chair",
        "sit",
        leg_l=Leg(flex=88, abd=8, knee=90, ankle=5),
        leg_r=Leg(flex=88, abd=8, knee=85, ankle=5),
        spine_flex=-5,
        arm_l=Arm(elev=20, azim=60, elbow=70),
        arm_r=Arm(elev=20, azim=60, elbow=70),
    ),
    _k(
        "sit_chair_lean",
        "sit",
        leg_l=Leg(flex=85, abd=15, knee=100),
        leg_r=Leg(flex=80, abd=12, knee=70),
        spine_flex=20,
        arm_l=Arm(elev=30, azim=80, elbow=90),
        arm_r=Arm(elev=25, azim=70, elbow=100),
        neck_flex=10,
    ),
    _k(
        "sit_cross_legged",
        "sit_ground",
        leg_l=Leg(flex=75, abd=55, knee=145, twist=30),
        leg_r=Leg(flex=75, abd=55, knee=145, twist=-30),
        arm_l=Arm(elev=25, azim=60, elbow=50),
        arm_r=Arm(elev=25, azim=60, elbow=50),
        spine_flex=10,
    ),
    _k(
        "sit_ground_legs_out",
        "sit_ground",
        leg_l=Leg(flex=90, abd=10, knee=10, ankle=-20),
        leg_r=Leg(flex=90, abd=10, knee=40),
        arm_l=Arm(elev=35, azim=-40, elbow=10),
        arm_r=Arm(elev=35, azim=-40, elbow=10),
        spine_flex=-5,
    ),
    _k(
        "squat",
        leg_l=Leg(flex=115, abd=25, knee=140, ankle=30),
        leg_r=Leg(flex=115, abd=25, knee=140, ankle=30),
        spine_flex=35,
        arm_l=Arm(elev=70, azim=90, elbow=30),
        arm_r=Arm(elev=70, azim=90, elbow=30),
    ),
    _k(
        "kneel_one",
        "kneel",
        leg_l=Leg(flex=85, abd=8, knee=90),
        leg_r=Leg(flex=-10, abd=8, knee=120, ankle=-40),
        arm_l=Arm(elev=30, azim=80, elbow=80),
        arm_r=Arm(elev=10, elbow=15),
    ),
    _k(
        "kneel_both",
        "kneel",
        leg_l=Leg(flex=0, abd=8, knee=95, ankle=-40),
        leg_r=Leg(flex=0, abd=8, knee=95, ankle=-40),
        arm_l=Arm(elev=20, azim=60, elbow=40),
        arm_r=Arm(elev=20, azim=60, elbow=40),
    ),
    _k(
        "lie_back",
        "lie",
        root_pitch=-90,
        arm_l=Arm(elev=30),
        arm_r=Arm(elev=40, elbow=30),
        leg_l=Leg(flex=5, knee=10, ankle=-25),
        leg_r=Leg(flex=30, knee=60, ankle=-10),
        head_pitch=15,
    ),
    _k(
        "lie_front",
        "lie",
        root_pitch=90,
        arm_l=Arm(elev=140, azim=30, elbow=90),
        arm_r=Arm(elev=140, azim=30, elbow=90),
        leg_l=Leg(flex=0, knee=5, ankle=-35),
        leg_r=Leg(flex=0, knee=20, ankle=-35),
        head_pitch=-30,
    ),
    _k(
        "lie_side",
        "lie",
        root_roll=90,
        leg_l=Leg(flex=40, knee=60),
        leg_r=Leg(flex=25, knee=40),
        arm_l=Arm(elev=40, azim=90, elbow=60),
        arm_r=Arm(elev=95, azim=70, elbow=80),
        head_pitch=0,
    ),
    _k(
        "reach_up",
        "reach",
        arm_l=Arm(elev=170, azim=30, elbow=10),
        arm_r=Arm(elev=165, azim=40, elbow=15),
        head_pitch=-25,
        leg_l=Leg(ankle=-25),
        leg_r=Leg(ankle=-25),
        hands=("open", "open"),
    ),
    _k(
        "reach_forward",
        "reach",
        arm_r=Arm(elev=85, azim=90, elbow=10),
        spine_flex=20,
        leg_r=Leg(flex=-10, knee=5),
        hands=("open", "grip"),
    ),
    _k("wave", arm_r=Arm(elev=125, azim=30, elbow=85, twist=20), head_yaw=-10, hands=("relaxed", "open")),
    _k("point", arm_r=Arm(elev=90, azim=70, elbow=5), head_yaw=-20, hands=("relaxed", "point")),
    _k(
        "phone_call",
        arm_r=Arm(elev=35, azim=70, elbow=145, twist=-20),
        head_yaw=-10,
        neck_flex=8,
        hands=("relaxed", "grip"),
    ),
    _k(
        "texting",
        arm_l=Arm(elev=25, azim=85, elbow=100),
        arm_r=Arm(elev=25, azim=85, elbow=100),
        neck_flex=35,
        head_pitch=15,
        hands=("grip", "grip"),
    ),
    _k(
        "carry_box",
        arm_l=Arm(elev=45, azim=80, elbow=90, twist=15),
        arm_r=Arm(elev=45, azim=80, elbow=90, twist=-15),
        spine_flex=-8,
        hands=("grip", "grip"),
    ),
    _k(
        "carry_bag",
        arm_r=Arm(elev=15, azim=0, elbow=5),
        spine_side=10,
        arm_l=Arm(elev=25, elbow=20),
        hands=("relaxed", "fist"),
    ),
    _k(
        "jump_tuck",
        "jump",
        leg_l=Leg(flex=80, knee=110, ankle=-20),
        leg_r=Leg(flex=80, knee=110, ankle=-20),
        arm_l=Arm(elev=60, azim=90, elbow=80),
        arm_r=Arm(elev=60, azim=90, elbow=80),
        spine_flex=15,
    ),
    _k(
        "jump_star",
        "jump",
        leg_l=Leg(abd=35, knee=5, ankle=-30),
        leg_r=Leg(abd=35, knee=5, ankle=-30),
        arm_l=Arm(elev=150, azim=10, elbow=5),
        arm_r=Arm(elev=150, azim=10, elbow=5),
        hands=("open", "open"),
    ),
    _k(
        "dance_a",
        "dance",
        arm_l=Arm(elev=130, azim=30, elbow=40),
        arm_r=Arm(elev=60, azim=-10, elbow=70),
        leg_l=Leg(flex=25, knee=40, ankle=-20),
        spine_side=12,
        head_yaw=20,
        hands=("open", "open"),
    ),
    _k(
        "dance_b",
        "dance",
        arm_l=Arm(elev=90, azim=60, elbow=100),
        arm_r=Arm(elev=95, azim=40, elbow=90),
        leg_r=Leg(flex=-20, abd=15, knee=45),
        spine_twist=20,
        spine_side=-8,
    ),
    _k(
        "dance_c",
        "dance",
        arm_l=Arm(elev=160, azim=45, elbow=60),
        arm_r=Arm(elev=160, azim=45, elbow=60),
        leg_l=Leg(flex=15, knee=30),
        leg_r=Leg(flex=-10, knee=20),
        head_pitch=-15,
        hands=("open", "open"),
    ),
    _k(
        "throw",
        arm_r=Arm(elev=110, azim=-40, elbow=90, twist=-30),
        arm_l=Arm(elev=80, azim=80, elbow=20),
        spine_twist=-25,
        leg_l=Leg(flex=30, knee=15),
        leg_r=Leg(flex=-20, knee=15),
        hands=("open", "grip"),
    ),
    _k(
        "kick",
        leg_r=Leg(flex=85, knee=20, ankle=-30),
        leg_l=Leg(knee=15),
        spine_flex=-10,
        arm_l=Arm(elev=60, azim=30, elbow=40),
        arm_r=Arm(elev=50, azim=-30, elbow=30),
    ),
    _k(
        "tennis_swing",
        arm_r=Arm(elev=85, azim=30, elbow=20),
        arm_l=Arm(elev=55, azim=100, elbow=60),
        spine_twist=30,
        spine_flex=15,
        leg_l=Leg(flex=35, knee=40),
        leg_r=Leg(flex=-10, knee=25),
        hands=("relaxed", "grip"),
    ),
    _k(
        "boxing_guard",
        arm_l=Arm(elev=40, azim=85, elbow=135, twist=-10),
        arm_r=Arm(elev=35, azim=80, elbow=140, twist=10),
        spine_flex=10,
        leg_l=Leg(flex=20, knee=25),
        leg_r=Leg(flex=-10, knee=20),
        neck_flex=10,
        hands=("fist", "fist"),
    ),
    _k(
        "cycling",
        leg_l=Leg(flex=90, abd=5, knee=110, ankle=-10),
        leg_r=Leg(flex=40, abd=5, knee=50, ankle=10),
        spine_flex=30,
        arm_l=Arm(elev=80, azim=85, elbow=20),
        arm_r=Arm(elev=80, azim=85, elbow=20),
        head_pitch=-25,
        hands=("grip", "grip"),
    ),
    _k(
        "yoga_tree",
        arm_l=Arm(elev=170, azim=10, elbow=20),
        arm_r=Arm(elev=170, azim=10, elbow=20),
        leg_l=Leg(flex=40, abd=55, knee=140, twist=30),
        hands=("open", "open"),
    ),
    _k(
        "yoga_warrior",
        arm_l=Arm(elev=90, azim=0, elbow=0),
        arm_r=Arm(elev=90, azim=0, elbow=0),
        leg_l=Leg(flex=60, abd=40, knee=85),
        leg_r=Leg(flex=-5, abd=35, knee=0),
        head_yaw=60,
        hands=("open", "open"),
    ),
    _k(
        "yoga_downward_dog",
        root_pitch=60,
        spine_flex=20,
        arm_l=Arm(elev=170, azim=40, elbow=0),
        arm_r=Arm(elev=170, azim=40, elbow=0),
        leg_l=Leg(flex=85, knee=0, ankle=20),
        leg_r=Leg(flex=85, knee=0, ankle=20),
        hands=("open", "open"),
    ),
    _k(
        "lunge",
        leg_l=Leg(flex=75, knee=85, ankle=10),
        leg_r=Leg(flex=-25, knee=30, ankle=-20),
        arm_l=Arm(elev=20, azim=-30, elbow=30),
        arm_r=Arm(elev=20, azim=-30, elbow=30),
    ),
    _k(
        "bend_pick_up",
        spine_flex=70,
        leg_l=Leg(flex=15, knee=20),
        leg_r=Leg(flex=15, knee=20),
        arm_r=Arm(elev=95, azim=90, elbow=20),
        arm_l=Arm(elev=60, azim=90, elbow=30),
        neck_flex=-20,
        hands=("relaxed", "grip"),
    ),
    _k(
        "stretch_side",
        arm_l=Arm(elev=170, azim=0, elbow=15),
        spine_side=-25,
        arm_r=Arm(elev=30, elbow=40),
        leg_l=Leg(abd=12),
        leg_r=Leg(abd=12),
    ),
    _k(
        "clap",
        arm_l=Arm(elev=60, azim=85, elbow=70, twist=-30),
        arm_r=Arm(elev=60, azim=85, elbow=70, twist=30),
        hands=("open", "open"),
    ),
    _k("look_around", head_yaw=55, spine_twist=25, arm_l=Arm(elev=15, elbow=20), arm_r=Arm(elev=15, elbow=20)),
)


def _rx(deg: float) -> Rotation:
    return Rotation.from_rotvec([math.radians(deg), 0.0, 0.0])


@dataclass
class SampledPose:
    """AnnyBody pose parameters (axis-angle, our frame), float32, and the key pose(s) they came from."""

    global_orient: np.ndarray  # (3,) the pose's own root orientation (lying, bending over); the scene adds yaw
    body_pose: np.ndarray  # (35, 3)
    left_hand_pose: np.ndarray  # (19, 3)
    right_hand_pose: np.ndarray  # (19, 3)
    eye_pose: np.ndarray  # (2, 3)
    name: str = ""


@dataclass
class PoseRig:
    """Anny's rest skeleton, and how a :class:`PoseSpec` becomes its local bone rotations."""

    rest_heads: np.ndarray  # (104, 3) neutral body
    parents: list[int]
    hinge_axes: dict[str, np.ndarray] = field(default_factory=dict)  # bone -> flexion axis at rest
    rest_flexion_deg: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: AnnyBody) -> PoseRig:
        with torch.no_grad():
            heads = body(**body.neutral_params(1)).joints[0, : len(ANNY_BONE_LABELS)].double().numpy()
        rig = cls(heads, [int(p) for p in body.anny.bone_parents])
        for s in ("L", "R"):
            for upper, joint, lower, fallback in (
                (f"upperarm01.{s}", f"lowerarm01.{s}", f"wrist.{s}", (1.0, 0.0, 0.0)),
                (f"upperleg01.{s}", f"lowerleg01.{s}", f"foot.{s}", (1.0, 0.0, 0.0)),
            ):
                a, b = rig.head(joint) - rig.head(upper), rig.head(lower) - rig.head(joint)
                normal = np.cross(a, b)
                axis = (
                    unit(normal)
                    if np.linalg.norm(normal) > 1e-3 * np.linalg.norm(a) * np.linalg.norm(b)
                    else np.array(fallback)
                )
                if joint.startswith("lowerleg") and axis[0] < 0:
                    axis = -axis  # a knee folds the shin backwards: positive about +x
                if joint.startswith("lowerleg"):
                    axis = np.array([1.0, 0.0, 0.0])
                rig.hinge_axes[joint] = axis
                rig.rest_flexion_deg[joint] = math.degrees(math.acos(np.clip(np.dot(unit(a), unit(b)), -1, 1)))
        return rig

    def head(self, bone: str) -> np.ndarray:
        return self.rest_heads[ANNY_BONE_LABELS.index(bone)]

    def body_rotations(self, spec: PoseSpec) -> dict[str, Rotation]:
        """Local rotation of every posed body bone, and "root" for the pose's own root orientation."""
        out: dict[str, Rotation] = {
            "root": Rotation.from_rotvec([math.radians(spec.root_pitch), 0, 0])
            * Rotation.from_rotvec([0, 0, math.radians(-spec.root_roll)])
        }
        trunk = (
            Rotation.from_rotvec([0.0, math.radians(spec.spine_twist), 0.0])
            * Rotation.from_rotvec([0.0, 0.0, math.radians(-spec.spine_side)])
            * _rx(spec.spine_flex)
        )
        spine = ("spine05", "spine04", "spine03", "spine02", "spine01")
        share = Rotation.from_rotvec(trunk.as_rotvec() / len(spine))
        for bone in spine:
            out[bone] = share
        neck = Rotation.from_rotvec(_rx(spec.neck_flex).as_rotvec() / 3)
        for bone in ("neck01", "neck02", "neck03"):
            out[bone] = neck
        out["head"] = Rotation.from_rotvec([0.0, math.radians(spec.head_yaw), 0.0]) * _rx(spec.head_pitch)
        for side, sign in (("L", 1.0), ("R", -1.0)):
            arm: Arm = spec.arm_l if side == "L" else spec.arm_r
            leg: Leg = spec.leg_l if side == "L" else spec.leg_r
            elev, azim = math.radians(arm.elev), math.radians(arm.azim)
            target = np.array(
                [sign * math.sin(elev) * math.cos(azim), -math.cos(elev), math.sin(elev) * math.sin(azim)]
            )
            rest = self.head(f"lowerarm01.{side}") - self.head(f"upperarm01.{side}")
            twist = Rotation.from_rotvec(unit(target) * math.radians(sign * arm.twist))
            out[f"upperarm01.{side}"] = twist * swing(rest, target)
            elbow_axis = self.hinge_axes[f"lowerarm01.{side}"]
            out[f"lowerarm01.{side}"] = Rotation.from_rotvec(
                elbow_axis * math.radians(arm.elbow - self.rest_flexion_deg[f"lowerarm01.{side}"])
            )
            out[f"wrist.{side}"] = Rotation.from_rotvec(elbow_axis * math.radians(arm.wrist))
            flex, abd = math.radians(leg.flex), math.radians(leg.abd)
            thigh = np.array([sign * math.sin(abd), -math.cos(flex) * math.cos(abd), math.sin(flex) * math.cos(abd)])
            rest_thigh = self.head(f"lowerleg01.{side}") - self.head(f"upperleg01.{side}")
            hip_twist = Rotation.from_rotvec(unit(thigh) * math.radians(sign * leg.twist))
            out[f"upperleg01.{side}"] = hip_twist * swing(rest_thigh, thigh)
            out[f"lowerleg01.{side}"] = Rotation.from_rotvec(
                self.hinge_axes[f"lowerleg01.{side}"]
                * math.radians(leg.knee - self.rest_flexion_deg[f"lowerleg01.{side}"])
            )
            out[f"foot.{side}"] = _rx(-leg.ankle)
        return out

    def posed_heads(self, local: dict[str, Rotation]) -> np.ndarray:
        """(104, 3) bone heads posed by local rotations (root orientation included), body frame.

        The same forward kinematics as anny's: a bone's rotation turns its children about its head,
        with its parent's rotation applied first. Plain 3 x 3 matrices: this runs for every
        self-contact test, where scipy's per-call overhead would dominate.
        """
        n = len(self.rest_heads)
        own = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        for bone, rotation in local.items():
            if bone != "root":
                own[ANNY_BONE_LABELS.index(bone)] = rotation.as_matrix()
        root = local["root"].as_matrix() if "root" in local else np.eye(3)
        global_rot = np.empty((n, 3, 3))
        heads = np.empty_like(self.rest_heads)
        for b in range(n):
            p = self.parents[b]
            if p < 0:
                global_rot[b] = root @ own[b]
                heads[b] = root @ self.rest_heads[b]
            else:
                global_rot[b] = global_rot[p] @ own[b]
                heads[b] = heads[p] + global_rot[p] @ (self.rest_heads[b] - self.rest_heads[p])
        return heads


class HandShaper:
    """Finger rotations of a hand shape: each finger joint flexes about the axis that folds it into the palm."""

    def __init__(self, rig: PoseRig) -> None:
        self.axes: dict[str, np.ndarray] = {}
        for side in ("L", "R"):
            wrist = rig.head(f"wrist.{side}")
            index, pinky = rig.head(f"finger2-1.{side}"), rig.head(f"finger5-1.{side}")
            middle_tip_dir = unit(rig.head(f"finger3-3.{side}") - rig.head(f"finger3-1.{side}"))
            palm = unit(np.cross(index - wrist, pinky - wrist))
            for bone in ANNY_BONE_GROUPS["left_hand_pose" if side == "L" else "right_hand_pose"]:
                if bone.startswith("metacarpal"):
                    continue
                b = ANNY_BONE_LABELS.index(bone)
                child = [i for i, p in enumerate(rig.parents) if p == b]
                direction = unit(rig.rest_heads[child[0]] - rig.rest_heads[b]) if child else middle_tip_dir
                axis = unit(np.cross(direction, palm))
                # choose the sign that moves the bone's far end towards the palm side
                moved = Rotation.from_rotvec(0.5 * axis).apply(direction)
                if np.dot(moved - direction, palm) < 0:
                    axis = -axis
                self.axes[bone] = axis

    def hand(self, shape: str, side: str, rng: np.random.Generator | None = None) -> np.ndarray:
        """(19, 3) rotvecs of one hand (``side`` "L" or "R") in ``ANNY_BONE_GROUPS`` order."""
        finger_deg, thumb_deg = HAND_SHAPES_DEG[shape]
        group = ANNY_BONE_GROUPS["left_hand_pose" if side == "L" else "right_hand_pose"]
        out = np.zeros((len(group), 3))
        for i, bone in enumerate(group):
            if bone not in self.axes:
                continue
            degrees = thumb_deg if bone.startswith("finger1") else finger_deg
            if shape == "point" and bone.startswith("finger2"):
                degrees = 5.0
            if rng is not None:
                degrees = float(np.clip(degrees + rng.normal(0.0, 8.0), -5.0, 100.0))
            out[i] = self.axes[bone] * math.radians(degrees)
        return out


class PoseSampler:
    """Samples :class:`SampledPose`: a key pose (or a blend of two of one family), mirrored half the
    time, perturbed within limits, resampled while limbs pass through the body."""

    #: perturbed samples tried before the unperturbed key pose is used
    TRIES = 6

    def __init__(self, body: AnnyBody) -> None:
        self.rig = PoseRig.from_body(body)
        self.hands = HandShaper(self.rig)
        self.capsules = CapsuleBody(self.rig.rest_heads, self.rig.parents)
        self._index = {b: i for i, b in enumerate(ANNY_BONE_GROUPS["body_pose"])}
        self.families: dict[str, list[PoseSpec]] = {}
        for spec in KEY_POSES:
            self.families.setdefault(spec.family, []).append(spec)

    def spec(self, rng: np.random.Generator) -> PoseSpec:
        """A perturbed key pose (angles only), before the self-contact test."""
        base = KEY_POSES[int(rng.integers(len(KEY_POSES)))]
        family = self.families[base.family]
        if len(family) > 1 and rng.random() < 0.5:
            other = family[int(rng.integers(len(family)))]
            if other is not base:
                base = blend(base, other, float(rng.uniform(0.2, 0.8)))
        if rng.random() < 0.5:
            base = base.mirrored()
        return base

    def penetration_m(self, spec: PoseSpec) -> float:
        """Deepest overlap of two body segments that should not touch (metres)."""
        return self.capsules.penetration_m(self.rig.posed_heads(self.rig.body_rotations(spec)))

    def to_params(self, spec: PoseSpec, rng: np.random.Generator | None = None) -> SampledPose:
        local = self.rig.body_rotations(spec)
        body_pose = np.zeros((len(self._index), 3))
        for bone, rotation in local.items():
            if bone in self._index:
                body_pose[self._index[bone]] = rotation.as_rotvec()
        gaze = np.zeros((2, 3))
        if rng is not None:
            gaze[:] = [math.radians(rng.normal(0, 4)), math.radians(rng.normal(0, 10)), 0.0]
        return SampledPose(
            global_orient=local["root"].as_rotvec().astype(np.float32),
            body_pose=body_pose.astype(np.float32),
            left_hand_pose=self.hands.hand(spec.hands[0], "L", rng).astype(np.float32),
            right_hand_pose=self.hands.hand(spec.hands[1], "R", rng).astype(np.float32),
            eye_pose=gaze.astype(np.float32),
            name=spec.name,
        )

    def sample(self, rng: np.random.Generator) -> SampledPose:
        base = self.spec(rng)
        for _ in range(self.TRIES):
            candidate = perturb(base, rng)
            if self.penetration_m(candidate) <= self.capsules.tolerance_m:
                return self.to_params(candidate, rng)
        return self.to_params(clamp_to_limits(base), rng)
