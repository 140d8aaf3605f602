"""Session-wide test assets, all built here: nothing is downloaded and no real body-model file is used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The project's ``shared/`` folder: ``$HMR_SHARED_DIR``, else beside or inside the checkout."""
    candidates = [Path(os.environ["HMR_SHARED_DIR"])] if os.environ.get("HMR_SHARED_DIR") else []
    candidates += [REPO.parent / "shared", REPO / "shared"]
    for candidate in candidates:
        if (candidate / "fixtures" / "multihmr").is_dir():
            return candidate
    raise RuntimeError(f"shared/fixtures not found in {[str(c) for c in candidates]}; set HMR_SHARED_DIR")


MULTIHMR_FIXTURE = shared_dir() / "fixtures" / "multihmr"


@pytest.fixture(scope="session")
def multihmr_fixture() -> Path:
    return MULTIHMR_FIXTURE


@pytest.fixture(scope="session")
def fixture_checkpoint(tmp_path_factory) -> Path:
    """The shared fixture's formula-weight ViT-S/448 checkpoint, in the released Multi-HMR format."""
    out = tmp_path_factory.mktemp("ckpt") / "multihmr_vits448.pt"
    subprocess.run(
        [
            sys.executable,
            str(MULTIHMR_FIXTURE / "make_checkpoint.py"),
            str(MULTIHMR_FIXTURE / "keys_vits448.json"),
            str(MULTIHMR_FIXTURE / "args_vits448.json"),
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def fake_models_dir(tmp_path_factory) -> Path:
    """Fake SMPL-X / SMPL / SKEL files with the real array names (``tests/make_fake_body_models.py``)."""
    out = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, str(REPO / "tests" / "make_fake_body_models.py"), str(out)], check=True, capture_output=True
    )
    return out


@pytest.fixture(scope="session")
def tiny_network():
    """A deterministic tiny SMPL-X network (2-block 64-wide ViT at 112 px): exercises every code path fast."""
    from hmr.nn import build_network, get_config

    torch.manual_seed(0)
    network = build_network(get_config("test-tiny-112"))
    with torch.no_grad():
        # A random detector scores ~0.5 everywhere; a bias makes "someone is here" a clear decision.
        network.mlp_classif[2].bias.fill_(0.5)
    return network


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_network, tmp_path_factory) -> Path:
    from hmr.nn import save_network

    return save_network(tiny_network, tmp_path_factory.mktemp("tiny") / "tiny.safetensors")
