"""Body models built once per session: fake SMPL-X / SMPL / SKEL files (``fake_models_dir`` from
``tests/conftest.py``) and the real Anny, whose first build on a machine takes minutes (then cached)."""

from __future__ import annotations

import pytest

from hmr.body import load_body_model


@pytest.fixture(scope="session")
def smplx_body(fake_models_dir):
    return load_body_model("smplx", models_dir=fake_models_dir)


@pytest.fixture(scope="session")
def smpl_body(fake_models_dir):
    return load_body_model("smpl", models_dir=fake_models_dir)


@pytest.fixture(scope="session")
def skel_body(fake_models_dir):
    return load_body_model("skel", models_dir=fake_models_dir, gender="male")


@pytest.fixture(scope="session")
def anny_body():
    return load_body_model("anny")
