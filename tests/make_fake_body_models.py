"""Write FAKE SMPL-X, SMPL and SKEL asset files, so tests run without the licence-gated ones.

The real files (MPI-IS, non-commercial) must never be committed or downloaded by tests. These
stand-ins carry the array names and shapes the loaders read (``smplx`` for SMPL-X / SMPL,
``body-models`` 0.26.2 for SKEL) with made-up contents: a 1.70 m body of revolution about +y
(feet at y = -1.15, top of the head at y = +0.55, facing +z, its left on +x, as SMPL), joints
regressed from rings of vertices near a rough skeleton, and small blend shapes.

Layout written (the one ``hmr.body.assets`` looks up)::

    OUT_DIR/smplx/SMPLX_{NEUTRAL,MALE,FEMALE}.npz   neutral = shared/fixtures/multihmr/make_fake_smplx.py
    OUT_DIR/smpl/SMPL_{NEUTRAL,MALE,FEMALE}.pkl      v_template (6890,3), f (13776,3), J_regressor
                                                     (24,6890) scipy.sparse, J (24,3), kintree_table (2,24),
                                                     weights (6890,24), shapedirs (6890,3,10),
                                                     posedirs (6890,3,207), bs_style, bs_type
    OUT_DIR/skel/skel_{male,female}.pkl              see ``make_fake_skel``

Male / female variants are the neutral body scaled about the feet by 1.05 / 0.95. Everything is
drawn from ``numpy.random.default_rng(seed)``, so a seed always gives the same files.

Usage: ``python tests/make_fake_body_models.py OUT_DIR [--seed N]`` (default seed 1234, the one
the Multi-HMR acceptance fixture was made with).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pickle
from pathlib import Path
from types import ModuleType

import numpy as np
from scipy import sparse

FEET_Y, TOP_Y = -1.15, 0.55
# 164 rings x 42 columns + 2 cap centres = 6890 vertices and 2 * 164 * 42 = 13776 triangles:
# exactly SMPL's counts, so SMPL and SKEL (which uses SMPL's skin mesh) get their real shapes.
N_RINGS, N_COLS = 164, 42
# cross sections: (height above the floor, half-width along x, half-depth along z), metres
BODY_PROFILE = np.array(
    [
        (0.00, 0.12, 0.10),
        (0.07, 0.15, 0.10),
        (0.45, 0.15, 0.08),
        (0.82, 0.18, 0.10),
        (0.95, 0.17, 0.11),
        (1.10, 0.15, 0.10),
        (1.30, 0.20, 0.12),
        (1.41, 0.22, 0.10),
        (1.46, 0.06, 0.06),
        (1.52, 0.06, 0.06),
        (1.58, 0.09, 0.10),
        (1.65, 0.09, 0.10),
        (1.70, 0.03, 0.03),
    ]
)
GENDER_SCALE = {"neutral": 1.0, "male": 1.05, "female": 0.95}

# SMPL joints as (x, height above the floor, z); the body's left is +x
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
SMPL_SKELETON = [
    (0.00, 0.93, 0.00),
    (0.09, 0.86, 0.00),
    (-0.09, 0.86, 0.00),
    (0.00, 1.03, 0.00),
    (0.09, 0.48, 0.00),
    (-0.09, 0.48, 0.00),
    (0.00, 1.16, 0.00),
    (0.09, 0.08, 0.00),
    (-0.09, 0.08, 0.00),
    (0.00, 1.22, 0.00),
    (0.09, 0.02, 0.06),
    (-0.09, 0.02, 0.06),
    (0.00, 1.45, 0.00),
    (0.07, 1.38, 0.00),
    (-0.07, 1.38, 0.00),
    (0.00, 1.55, 0.00),
    (0.18, 1.40, 0.00),
    (-0.18, 1.40, 0.00),
    (0.20, 1.15, 0.00),
    (-0.20, 1.15, 0.00),
    (0.21, 0.90, 0.00),
    (-0.21, 0.90, 0.00),
    (0.21, 0.82, 0.00),
    (-0.21, 0.82, 0.00),
]

# SKEL's 24 bones (OpenSim names), their parents and rough joint positions
SKEL_BONES = [
    "pelvis",
    "femur_r",
    "tibia_r",
    "talus_r",
    "calcn_r",
    "toes_r",
    "femur_l",
    "tibia_l",
    "talus_l",
    "calcn_l",
    "toes_l",
    "lumbar_body",
    "thorax",
    "head",
    "scapula_r",
    "humerus_r",
    "ulna_r",
    "radius_r",
    "hand_r",
    "scapula_l",
    "humerus_l",
    "ulna_l",
    "radius_l",
    "hand_l",
]
SKEL_PARENTS = [-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 12, 14, 15, 16, 17, 12, 19, 20, 21, 22]
_SKEL_RIGHT_LEG = [
    (-0.09, 0.86, 0.00),
    (-0.09, 0.48, 0.00),
    (-0.09, 0.08, 0.00),
    (-0.09, 0.03, -0.04),
    (-0.09, 0.01, 0.10),
]
_SKEL_RIGHT_ARM = [
    (-0.07, 1.38, -0.03),
    (-0.18, 1.40, 0.00),
    (-0.20, 1.15, 0.00),
    (-0.20, 1.13, 0.01),
    (-0.21, 0.90, 0.00),
]


def _mirror(points):
    return [(-x, h, z) for x, h, z in points]


SKEL_SKELETON = (
    [(0.00, 0.93, 0.00)]
    + _SKEL_RIGHT_LEG
    + _mirror(_SKEL_RIGHT_LEG)
    + [(0.00, 1.03, 0.00), (0.00, 1.22, 0.00), (0.00, 1.52, 0.00)]
    + _SKEL_RIGHT_ARM
    + _mirror(_SKEL_RIGHT_ARM)
)
SKEL_POSE_PARAM_NAMES = [
    "pelvis_tilt",
    "pelvis_list",
    "pelvis_rotation",
    "hip_flexion_r",
    "hip_adduction_r",
    "hip_rotation_r",
    "knee_angle_r",
    "ankle_angle_r",
    "subtalar_angle_r",
    "mtp_angle_r",
    "hip_flexion_l",
    "hip_adduction_l",
    "hip_rotation_l",
    "knee_angle_l",
    "ankle_angle_l",
    "subtalar_angle_l",
    "mtp_angle_l",
    "lumbar_bending",
    "lumbar_extension",
    "lumbar_twist",
    "thorax_bending",
    "thorax_extension",
    "thorax_twist",
    "head_bending",
    "head_extension",
    "head_twist",
    "scapula_abduction_r",
    "scapula_elevation_r",
    "scapula_upward_rot_r",
    "shoulder_r_x",
    "shoulder_r_y",
    "shoulder_r_z",
    "elbow_flexion_r",
    "pro_sup_r",
    "wrist_flexion_r",
    "wrist_deviation_r",
    "scapula_abduction_l",
    "scapula_elevation_l",
    "scapula_upward_rot_l",
    "shoulder_l_x",
    "shoulder_l_y",
    "shoulder_l_z",
    "elbow_flexion_l",
    "pro_sup_l",
    "wrist_flexion_l",
    "wrist_deviation_l",
]


def shared_dir() -> Path:
    """The project's ``shared/`` folder: ``$HMR_SHARED_DIR``, else beside (or inside) the checkout."""
    repo = Path(__file__).resolve().parents[1]
    candidates = [Path(os.environ["HMR_SHARED_DIR"])] if os.environ.get("HMR_SHARED_DIR") else []
    candidates += [repo.parent / "shared", repo / "shared"]
    for candidate in candidates:
        if (candidate / "fixtures" / "multihmr").is_dir():
            return candidate
    raise FileNotFoundError(f"shared/fixtures not found in {[str(c) for c in candidates]}; set HMR_SHARED_DIR")


def _load_fixture_smplx() -> ModuleType:
    path = shared_dir() / "fixtures" / "multihmr" / "make_fake_smplx.py"
    spec = importlib.util.spec_from_file_location("_hmr_fixture_make_fake_smplx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scaled_about_feet(v: np.ndarray, scale: float) -> np.ndarray:
    feet = np.array([0.0, FEET_Y, 0.0], dtype=v.dtype)
    return (feet + scale * (v - feet)).astype(v.dtype)


def make_tube(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A closed, outward-wound body of revolution: vertices (6890, 3), faces (13776, 3), ring heights."""
    ring_h = np.linspace(0.0, TOP_Y - FEET_Y, N_RINGS + 2)[1:-1]
    theta = 2.0 * np.pi * np.arange(N_COLS) / N_COLS
    half_x = np.interp(ring_h, BODY_PROFILE[:, 0], BODY_PROFILE[:, 1])
    half_z = np.interp(ring_h, BODY_PROFILE[:, 0], BODY_PROFILE[:, 2])
    rings = np.stack(
        [
            half_x[:, None] * np.sin(theta),
            np.repeat(ring_h[:, None] + FEET_Y, N_COLS, 1),
            half_z[:, None] * np.cos(theta),
        ],
        -1,
    ).reshape(-1, 3)
    caps = np.array([[0.0, FEET_Y, 0.0], [0.0, TOP_Y, 0.0]])
    v = np.concatenate([rings, caps]) + rng.normal(0.0, 0.002, (N_RINGS * N_COLS + 2, 3))

    r, c = np.meshgrid(np.arange(N_RINGS - 1), np.arange(N_COLS), indexing="ij")
    a, b = r * N_COLS + c, r * N_COLS + (c + 1) % N_COLS
    d, e = a + N_COLS, b + N_COLS
    side = np.concatenate([np.stack([a, b, e], -1).reshape(-1, 3), np.stack([a, e, d], -1).reshape(-1, 3)])
    bottom, top = N_RINGS * N_COLS, N_RINGS * N_COLS + 1
    cols = np.arange(N_COLS)
    last = (N_RINGS - 1) * N_COLS
    caps_f = np.concatenate(
        [
            np.stack([np.full(N_COLS, bottom), (cols + 1) % N_COLS, cols], -1),
            np.stack([np.full(N_COLS, top), last + cols, last + (cols + 1) % N_COLS], -1),
        ]
    )
    return v, np.concatenate([side, caps_f]).astype(np.int64), ring_h + FEET_Y


def ring_regressor(v: np.ndarray, ring_y: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(J, V) regressor: each joint mixes the centroid of the ring at its height with the ring
    vertex in its direction, so it sits near its target and follows the surface under shape change."""
    reg = np.zeros((len(targets), len(v)))
    for j, (x, y, z) in enumerate(targets):
        ids = int(np.argmin(np.abs(ring_y - y))) * N_COLS + np.arange(N_COLS)
        centre = v[ids].mean(0)
        offset = np.array([x, z]) - centre[[0, 2]]
        angles = np.arctan2(v[ids, 0] - centre[0], v[ids, 2] - centre[2])
        pick = int(np.argmin(np.abs(np.angle(np.exp(1j * (angles - np.arctan2(offset[0], offset[1])))))))
        reach = np.linalg.norm(v[ids[pick], [0, 2]] - centre[[0, 2]])
        alpha = float(np.clip(np.linalg.norm(offset) / max(reach, 1e-9), 0.0, 1.0))
        reg[j, ids] += (1.0 - alpha) / N_COLS
        reg[j, ids[pick]] += alpha
    return reg


def nearest_joint_weights(v: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(V, J) skinning weights: each vertex split between its two nearest joints."""
    dist = np.linalg.norm(v[:, None] - joints[None], axis=-1)
    near = np.argsort(dist, 1)[:, :2]
    d1, d2 = np.take_along_axis(dist, near, 1).T
    w1 = d2 / np.maximum(d1 + d2, 1e-9)
    weights = np.zeros((len(v), len(joints)))
    weights[np.arange(len(v)), near[:, 0]] += w1
    weights[np.arange(len(v)), near[:, 1]] += 1.0 - w1
    return weights


def _targets(skeleton) -> np.ndarray:
    return np.array([(x, h + FEET_Y, z) for x, h, z in skeleton])


def _blend_shapes(rng: np.random.Generator, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """shapedirs (V, 3, 10): 0 = taller, 1 = wider, 2..9 small random; posedirs (V, 3, 207), small."""
    shapedirs = np.zeros((len(v), 3, 10))
    shapedirs[:, :, 0] = 0.05 * (v - np.array([0.0, FEET_Y, 0.0]))
    shapedirs[:, :, 1] = 0.1 * v * np.array([1.0, 0.0, 1.0])
    shapedirs[:, :, 2:] = rng.normal(0.0, 0.003, (len(v), 3, 8))
    posedirs = np.zeros((len(v), 3, 207))
    posedirs[:, :, :27] = rng.normal(0.0, 0.002, (len(v), 3, 27))
    return shapedirs.astype(np.float32), posedirs.astype(np.float32)


def make_fake_smpl(seed: int = 1234, gender: str = "neutral") -> dict:
    """The dict a real ``SMPL_{GENDER}.pkl`` unpickles to (the keys smplx reads, plus J / bs_*)."""
    rng = np.random.default_rng(seed)
    v, faces, ring_y = make_tube(rng)
    regressor = ring_regressor(v, ring_y, _targets(SMPL_SKELETON))
    shapedirs, posedirs = _blend_shapes(rng, v)
    kintree = np.stack([np.array(SMPL_PARENTS), np.arange(24)]).astype(np.int64)
    kintree[0, 0] = 2**32 - 1
    v = _scaled_about_feet(v, GENDER_SCALE[gender])
    joints = regressor @ v
    return dict(
        v_template=v,
        f=faces.astype(np.uint32),
        J_regressor=sparse.csc_matrix(regressor),
        J=joints,
        kintree_table=kintree,
        weights=nearest_joint_weights(v, joints),
        shapedirs=shapedirs,
        posedirs=posedirs,
        bs_style="lbs",
        bs_type="lrotmin",
    )


def _bone_boxes(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 3 cm cube per bone between its joint and its first child: the stand-in skeleton mesh."""
    corners = 0.015 * np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    tris = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])
    verts, faces, bone = [], [], []
    for j in range(len(joints)):
        children = [k for k, p in enumerate(SKEL_PARENTS) if p == j]
        centre = 0.5 * (joints[j] + joints[children[0]]) if children else joints[j]
        faces.append(tris + 8 * j)
        verts.append(centre + corners)
        bone += [j] * 8
    weights = np.zeros((8 * len(joints), len(joints)))
    weights[np.arange(len(bone)), bone] = 1.0
    return np.concatenate(verts), np.concatenate(faces), weights


def make_fake_skel(seed: int = 1234, gender: str = "male") -> dict:
    """The dict a real ``skel_{gender}.pkl`` unpickles to, as far as body-models 0.26.2 reads it.

    body-models reads: ``skin_template_v`` (6890,3), ``skin_template_f`` (13776,3), ``shapedirs``
    (6890,3,>=10), ``posedirs`` (6890,3,207), ``skin_weights`` (6890,24) and ``J_regressor_osim``
    (24,6890) as scipy sparse (``.toarray()``), ``J_regressor`` (24,6890) (only its row count),
    ``skel_template_v`` (Vs,3) / ``skel_template_f`` (Fs,3), ``skel_weights`` / ``skel_weights_rigid``
    (Vs,24) sparse, ``apose_rel_transfo`` (24,4,4), ``per_joint_rot`` (24,3,3),
    ``osim_kintree_table`` (2,24) and ``bone_names`` (24 names). ``pose_params_name`` (46 names) is
    written for readers of the original SKEL code. The real skeleton mesh is far larger than these
    24 cubes. Rest rotations (``apose_rel_transfo``, ``per_joint_rot``) are identities, so each
    pose DoF turns its bone about its axis in the model frame.
    """
    rng = np.random.default_rng(seed + 1)
    v, faces, ring_y = make_tube(rng)
    osim_regressor = ring_regressor(v, ring_y, _targets(SKEL_SKELETON))
    smpl_regressor = ring_regressor(v, ring_y, _targets(SMPL_SKELETON))
    shapedirs, posedirs = _blend_shapes(rng, v)
    v = _scaled_about_feet(v, GENDER_SCALE[gender])
    joints = osim_regressor @ v
    parents = np.array(SKEL_PARENTS)
    rel = joints - np.where(parents[:, None] >= 0, joints[np.maximum(parents, 0)], 0.0)
    apose = np.tile(np.eye(4), (24, 1, 1))
    apose[:, :3, 3] = rel
    skel_v, skel_f, skel_w = _bone_boxes(joints)
    kintree = np.stack([parents, np.arange(24)]).astype(np.int64)
    return dict(
        skin_template_v=v,
        skin_template_f=faces,
        shapedirs=shapedirs,
        posedirs=posedirs,
        skin_weights=sparse.csc_matrix(nearest_joint_weights(v, joints)),
        J_regressor_osim=sparse.csc_matrix(osim_regressor),
        J_regressor=sparse.csc_matrix(smpl_regressor),
        skel_template_v=skel_v,
        skel_template_f=skel_f,
        skel_weights=sparse.csc_matrix(skel_w),
        skel_weights_rigid=sparse.csc_matrix(skel_w),
        apose_rel_transfo=apose,
        per_joint_rot=np.tile(np.eye(3), (24, 1, 1)),
        osim_kintree_table=kintree,
        bone_names=list(SKEL_BONES),
        pose_params_name=list(SKEL_POSE_PARAM_NAMES),
    )


def write_all(out_dir: str | Path, seed: int = 1234) -> list[Path]:
    """Write every fake asset under ``out_dir``; returns the written paths."""
    out = Path(out_dir)
    for sub in ("smplx", "smpl", "skel"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    written = []
    smplx_neutral = _load_fixture_smplx().make_fake_smplx(seed)
    for gender, scale in GENDER_SCALE.items():
        arrays = dict(smplx_neutral, v_template=_scaled_about_feet(smplx_neutral["v_template"], scale))
        path = out / "smplx" / f"SMPLX_{gender.upper()}.npz"
        np.savez_compressed(path, **arrays)
        written.append(path)
    for gender in GENDER_SCALE:
        path = out / "smpl" / f"SMPL_{gender.upper()}.pkl"
        path.write_bytes(pickle.dumps(make_fake_smpl(seed, gender)))
        written.append(path)
    for gender in ("male", "female"):
        path = out / "skel" / f"skel_{gender}.pkl"
        path.write_bytes(pickle.dumps(make_fake_skel(seed, gender)))
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="Write FAKE SMPL-X / SMPL / SKEL files for tests.")
    parser.add_argument("out_dir", help="models folder to fill (smplx/, smpl/, skel/)")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    for path in write_all(args.out_dir, args.seed):
        print(path)


if __name__ == "__main__":
    main()
