"""Acceptance: `hmr predict` reproduces the reference Multi-HMR outputs of the shared fixture."""

import importlib.util

import numpy as np
from PIL import Image

from hmr.cli.main import main


def _checker(fixture_dir):
    spec = importlib.util.spec_from_file_location("check_npz", fixture_dir / "check_npz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_predict_matches_reference(multihmr_fixture, fixture_checkpoint, fake_models_dir, tmp_path, capsys):
    expected_path = multihmr_fixture / "expected_vits448.npz"
    det_thresh = float(np.load(expected_path)["det_thresh"])
    code = main(
        [
            "predict",
            str(multihmr_fixture / "input_448.png"),
            "--checkpoint",
            str(fixture_checkpoint),
            "--models-dir",
            str(fake_models_dir),
            "--fov",
            "60",
            "--det-thresh",
            str(det_thresh),
            "--nms",
            "3",
            "--out",
            str(tmp_path),
            "--no-render",
            "-q",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    got_path = tmp_path / "input_448.npz"
    assert _checker(multihmr_fixture).main([str(expected_path), str(got_path)]) == 0, capsys.readouterr().out
    expected, got = np.load(expected_path), np.load(got_path)
    assert got["vertices"].shape == (3, 10475, 3) and got["joints_3d"].shape == (3, 127, 3)
    assert np.abs(got["vertices"] - expected["vertices"]).max() <= 1e-4
    assert np.allclose(got["K"], expected["K_orig"], atol=1e-4)
    assert got["image_size"].tolist() == [448, 448] and str(got["body_model"]) == "smplx"


def test_non_square_image_maps_back_to_original_frame(multihmr_fixture, fixture_checkpoint, fake_models_dir):
    """A 448x336 crop is letterboxed with 56 px bars; results must be those of the padded image run directly,
    shifted into the crop's pixels (same camera, so identical meshes)."""
    from hmr import Predictor

    full = np.asarray(Image.open(multihmr_fixture / "input_448.png").convert("RGB"))
    crop = full[56:392]
    padded = np.zeros_like(full)
    padded[56:392] = crop
    predictor = Predictor(fixture_checkpoint, models_dir=fake_models_dir, device="cpu")
    K_crop = np.array([[387.97937, 0, 224.0], [0, 387.97937, 168.0], [0, 0, 1]])
    K_padded = K_crop + np.array([[0, 0, 0], [0, 0, 56.0], [0, 0, 0]])
    on_crop = predictor.predict(crop, K=K_crop, det_thresh=0.6)
    on_padded = predictor.predict(padded, K=K_padded, det_thresh=0.6)
    assert len(on_crop) == len(on_padded) > 0
    a, b = on_crop.stacked(), on_padded.stacked()
    assert np.abs(a["vertices"] - b["vertices"]).max() < 1e-5
    assert np.abs(a["loc"] - (b["loc"] - [0, 56])).max() < 1e-3
    assert np.abs(a["joints_2d"] - (b["joints_2d"] - [0, 56])).max() < 1e-2
    assert a["image_size"].tolist() == [448, 336]
