"""ONNX fp32 vs the torch backend (and the reference intermediates) on the shared Multi-HMR fixture."""

import numpy as np
import pytest
from contract_checks import assert_same_contract
from onnx_checks import FIXTURE_THRESH, VARIANT_THRESH, assert_results_match
from scipy.spatial.transform import Rotation

from hmr.infer.onnx_backend import OnnxBackend
from hmr.infer.preprocess import prepare

pytestmark = pytest.mark.slow  # builds and exports ONNX models


@pytest.fixture(scope="module")
def onnx_448(fixture_onnx):
    return OnnxBackend(fixture_onnx, device="cpu")


@pytest.fixture(scope="module")
def prepared_448(test_images):
    return {name: prepare(image, 448) for name, image in test_images.items()}


def test_fixture_reference_reproduced(onnx_448, prepared_448, multihmr_fixture):
    expected = np.load(multihmr_fixture / "expected_vits448.npz")
    result = onnx_448.predict_batch([prepared_448["fixture"]], float(expected["det_thresh"]), 3)[0]
    got = result.stacked()
    assert len(result) == int(expected["n_persons"]) == 3
    for key in ("vertices", "joints_3d", "transl", "transl_pelvis", "scores", "betas", "expression"):
        assert np.abs(got[key] - expected[key]).max() < 1e-4, key
    assert np.abs(got["loc"] - expected["loc"]).max() < 1e-2
    assert np.abs(got["joints_2d"] - expected["joints_2d"]).max() < 5e-2
    # compared as rotations: theta * n and (theta - 2 pi) * n are the same (fixture README)
    relative = Rotation.from_rotvec(got["rotvec"].reshape(-1, 3)).inv() * Rotation.from_rotvec(
        expected["rotvec"].reshape(-1, 3)
    )
    assert relative.magnitude().max() < 1e-4


@pytest.mark.parametrize("det_thresh, count", [(FIXTURE_THRESH, 3), (0.716, 1), (0.75, 0)])
def test_batch1_448_matches_torch(onnx_448, fixture_torch_backend, prepared_448, det_thresh, count):
    batch = [prepared_448["fixture"]]
    want = fixture_torch_backend.predict_batch(batch, det_thresh, 3)
    assert len(want[0]) == count
    assert_results_match(onnx_448.predict_batch(batch, det_thresh, 3), want)


def test_batch3_448_several_one_and_no_person(onnx_448, fixture_torch_backend, prepared_448):
    batch = [prepared_448["fixture"], prepared_448["wide"], prepared_448["black"]]
    want = fixture_torch_backend.predict_batch(batch, FIXTURE_THRESH, 3)
    assert [len(r) for r in want] == [3, 1, 0]
    assert_results_match(onnx_448.predict_batch(batch, FIXTURE_THRESH, 3), want)


def test_second_image_size_matches_torch(variant_onnx, variant_torch_backend, test_images):
    backend = OnnxBackend(variant_onnx, device="cpu")
    assert backend.img_size == 224
    batch = [prepare(test_images[name], 224) for name in ("fixture", "wide", "black")]
    want = variant_torch_backend.predict_batch(batch, VARIANT_THRESH, 3)
    assert [len(r) for r in want] == [2, 1, 0]
    assert_results_match(backend.predict_batch(batch, VARIANT_THRESH, 3), want)
    assert_results_match(backend.predict_batch(batch[1:2], VARIANT_THRESH, 3), want[1:2])


def test_more_persons_than_slots_keeps_the_best(onnx_448, fixture_torch_backend, prepared_448):
    """With fewer slots (8) than detections the graph keeps the highest scores; eager keeps all."""
    want = fixture_torch_backend.predict_batch([prepared_448["fixture"]], 0.69, 3)[0]
    assert len(want) > 8
    got = onnx_448.predict_batch([prepared_448["fixture"]], 0.69, 3)[0]
    assert len(got) == 8
    best = sorted((p.score for p in want.persons), reverse=True)[:8]
    assert np.allclose(sorted((p.score for p in got.persons), reverse=True), best, atol=1e-6)


@pytest.mark.parametrize("backend_name", ["onnx", "torch"])
def test_no_person_keeps_the_output_contract(backend_name, onnx_448, fixture_torch_backend, prepared_448):
    """An image with nobody in it: the same keys and trailing shapes as one with three people, for
    the ONNX backend and a network checkpoint (V = 10475, J = 53, every ``param_*`` block)."""
    backend = onnx_448 if backend_name == "onnx" else fixture_torch_backend
    full, empty = backend.predict_batch([prepared_448["fixture"], prepared_448["black"]], FIXTURE_THRESH, 3)
    assert_same_contract(empty, full)
    stacked = empty.stacked()
    assert stacked["vertices"].shape == (0, 10475, 3) and stacked["rotvec"].shape == (0, 53, 3)
