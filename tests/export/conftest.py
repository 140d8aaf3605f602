"""Exported models shared by the export tests: each is traced once per session (tracing a ViT-S takes
30-60 s on two CPU cores), from the shared Multi-HMR fixture checkpoint and the fake SMPL-X."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # onnx_checks, shared by the test modules
from multihmr_variants import write_variant_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def smplx_body(fake_models_dir):
    from hmr.body import load_body_model

    return load_body_model("smplx", models_dir=fake_models_dir)


@pytest.fixture(scope="session")
def fixture_image(multihmr_fixture) -> np.ndarray:
    return np.asarray(Image.open(multihmr_fixture / "input_448.png").convert("RGB"))


@pytest.fixture(scope="session")
def test_images(fixture_image) -> dict[str, np.ndarray]:
    """At the fixture threshold the fixture network finds 3, 1 and 0 persons in these (non-square ones
    exercise the letterbox); at ``onnx_checks.VARIANT_THRESH`` the 224 px variant finds 2, 1 and 0."""
    return {"fixture": fixture_image, "wide": fixture_image[100:300].copy(), "black": np.zeros((300, 400, 3), np.uint8)}


@pytest.fixture(scope="session")
def fixture_exporter(fixture_checkpoint, smplx_body):
    from hmr.export import OnnxExporter

    return OnnxExporter(fixture_checkpoint, max_persons=8, body_model=smplx_body)


@pytest.fixture(scope="session")
def fixture_onnx(fixture_exporter, tmp_path_factory) -> Path:
    return fixture_exporter.save(tmp_path_factory.mktemp("onnx") / "vits448.onnx", "fp32")


@pytest.fixture(scope="session")
def fixture_onnx_fp16(fixture_exporter, tmp_path_factory) -> Path:
    return fixture_exporter.save(tmp_path_factory.mktemp("onnx") / "vits448_fp16.onnx", "fp16")


@pytest.fixture(scope="session")
def fixture_onnx_int8(fixture_exporter, tmp_path_factory) -> Path:
    return fixture_exporter.save(tmp_path_factory.mktemp("onnx") / "vits448_int8.onnx", "int8")


@pytest.fixture(scope="session")
def fixture_torch_backend(fixture_checkpoint, fake_models_dir):
    from hmr.infer.torch_backend import TorchBackend

    return TorchBackend(fixture_checkpoint, "smplx", fake_models_dir, torch.device("cpu"))


@pytest.fixture(scope="session")
def variant_checkpoint(multihmr_fixture, tmp_path_factory) -> Path:
    """The fixture's formula weights for a network built at 224 px (second image size)."""
    return write_variant_checkpoint(multihmr_fixture, tmp_path_factory.mktemp("v224") / "vits224.pt", 2, 8, 224)


@pytest.fixture(scope="session")
def variant_onnx(variant_checkpoint, smplx_body, tmp_path_factory) -> Path:
    from hmr.export import export_onnx

    return export_onnx(
        variant_checkpoint, tmp_path_factory.mktemp("onnx") / "vits224.onnx", max_persons=8, body_model=smplx_body
    )


@pytest.fixture(scope="session")
def variant_torch_backend(variant_checkpoint, fake_models_dir):
    from hmr.infer.torch_backend import TorchBackend

    return TorchBackend(variant_checkpoint, "smplx", fake_models_dir, torch.device("cpu"))
