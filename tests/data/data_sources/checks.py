"""Read a converted dataset back and compare it with what the source fixture knows."""

from __future__ import annotations

import numpy as np

from hmr.body.dataset_bodies import BodyBank
from hmr.camera import project
from hmr.data.reader import IndexedDataset


def scale_px(xy: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Source pixels -> stored pixels for a resize by (sx, sy), pixel centres at integers."""
    return np.stack([sx * (xy[..., 0] + 0.5) - 0.5, sy * (xy[..., 1] + 0.5) - 0.5], -1)


def check_bodies(
    out_root,
    expected: dict,
    models_dir,
    src_size: dict | None = None,
    joint_ids=None,
    tol_m: float = 1e-3,
    tol_px: float = 1.0,
) -> int:
    """``expected[image_key] = [{"verts_cam": (V, 3), "joints_2d": (J, 2) source px}]``.

    Recomputes each stored person from its stored parameters and checks vertices (<= tol_m) and
    the projection of its joints through the stored K (<= tol_px). Returns persons checked.
    """
    ds = IndexedDataset(out_root)
    bank = BodyBank(models_dir)
    assert sorted(ds.keys) == sorted(expected), (sorted(ds.keys), sorted(expected))
    n = 0
    for key, persons_expected in expected.items():
        sample = ds.get(key)
        persons = sample["persons"]
        assert len(persons) == len(persons_expected), key
        src_w, src_h = (src_size or {}).get(key, (sample["img_w"], sample["img_h"]))
        sx, sy = sample["img_w"] / src_w, sample["img_h"] / src_h
        assert sample["image"].shape == (sample["img_h"], sample["img_w"], 3)
        for person, exp in zip(persons, persons_expected):
            assert person.has_params and person.body_model in ("smpl", "smplx")
            params = {k: v.reshape(1, -1) for k, v in person.params.items()}
            verts, joints = bank.forward(person.body_model, person.gender, params, person.flat_hand_mean)
            err = np.abs(verts[0] - exp["verts_cam"]).max()
            assert err <= tol_m, f"{key}: vertex error {err * 1000:.3f} mm"
            if "joints_2d" in exp:
                ids = joint_ids if joint_ids is not None else slice(0, len(exp["joints_2d"]))
                got = project(joints[0, ids], sample["K"])
                want = scale_px(np.asarray(exp["joints_2d"]), sx, sy)
                px = np.abs(got - want).max()
                assert px <= tol_px, f"{key}: reprojection error {px:.3f} px"
            n += 1
    return n
