"""The fake asset generator: real array names and shapes, deterministic by seed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from hmr.body import load_body_model


def _generator():
    path = Path(__file__).resolve().parents[1] / "make_fake_body_models.py"
    spec = importlib.util.spec_from_file_location("make_fake_body_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fake_smpl_has_the_real_keys_and_shapes():
    data = _generator().make_fake_smpl(seed=7)
    shapes = {
        "v_template": (6890, 3),
        "f": (13776, 3),
        "J_regressor": (24, 6890),
        "J": (24, 3),
        "kintree_table": (2, 24),
        "weights": (6890, 24),
        "shapedirs": (6890, 3, 10),
        "posedirs": (6890, 3, 207),
    }
    for key, shape in shapes.items():
        assert data[key].shape == shape, key
    assert data["f"].max() == 6889 and data["f"].min() == 0
    np.testing.assert_allclose(data["weights"].sum(1), 1.0)
    np.testing.assert_allclose(np.asarray(data["J_regressor"].sum(1)).ravel(), 1.0)


def test_same_seed_same_files_other_seed_other_files():
    gen = _generator()
    a, b, c = gen.make_fake_skel(3, "male"), gen.make_fake_skel(3, "male"), gen.make_fake_skel(4, "male")
    for key in ("skin_template_v", "posedirs", "apose_rel_transfo"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["skin_template_v"], c["skin_template_v"])


def test_smpl_file_with_10_betas_caps_the_spec(fake_models_dir):
    model = load_body_model("smpl", models_dir=fake_models_dir, num_betas=16)
    assert model.param_specs["betas"].shape == (10,)


@pytest.mark.parametrize("rel", ["smplx/SMPLX_FEMALE.npz", "smpl/SMPL_MALE.pkl", "skel/skel_female.pkl"])
def test_every_gender_file_is_written(fake_models_dir, rel):
    assert (fake_models_dir / rel).is_file()
