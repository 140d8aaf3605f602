"""``hmr export onnx`` and ``hmr predict --backend onnx`` end to end."""

import numpy as np
import pytest
import torch
from onnx_checks import assert_results_match

from hmr.cli.main import main
from hmr.infer.onnx_backend import OnnxBackend
from hmr.infer.preprocess import prepare
from hmr.nn.detection import nms_score_map

pytestmark = pytest.mark.slow  # builds and exports ONNX models


def _threshold_between_peaks(network, prepared, count):
    """A threshold keeping exactly ``count`` persons in the first image, halfway between two peaks."""
    pixels = torch.from_numpy(prepared.pixels.copy()).permute(2, 0, 1)[None]
    with torch.no_grad():
        peaks = nms_score_map(network.score_map(network.encode(pixels)), 3).flatten().sort(descending=True).values
    assert peaks[count - 1] - peaks[count] > 1e-4, "pick another count: peaks too close for a stable threshold"
    return float(peaks[count - 1] + peaks[count]) / 2


def test_export_parameters_only_and_run_with_torch_body(
    tiny_checkpoint, tiny_network, smplx_body, fake_models_dir, test_images, tmp_path
):
    """Small config, ``--body-model none``: the backend adds the meshes with hmr.body; same as torch."""
    from hmr.infer.torch_backend import TorchBackend

    out = tmp_path / "tiny.onnx"
    assert (
        main(
            [
                "export",
                "onnx",
                "--checkpoint",
                str(tiny_checkpoint),
                "--body-model",
                "none",
                "--max-persons",
                "4",
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    backend = OnnxBackend(out, device="cpu", models_dir=fake_models_dir)
    assert backend.info.body_model == "none" and backend.img_size == 112 and backend.info.max_persons == 4
    assert "vertices" not in backend.output_names
    np.testing.assert_array_equal(backend.faces, smplx_body.faces)
    batch = [prepare(test_images[name], 112) for name in ("fixture", "wide", "black")]
    torch_backend = TorchBackend(tiny_network, "smplx", fake_models_dir, torch.device("cpu"))
    det_thresh = _threshold_between_peaks(tiny_network, batch[0], 2)
    want = torch_backend.predict_batch(batch, det_thresh, 3)
    assert len(want[0]) == 2
    assert_results_match(backend.predict_batch(batch, det_thresh, 3), want)


def test_export_rejects_bad_options(tiny_checkpoint, tmp_path, capsys):
    out = str(tmp_path / "x.onnx")
    assert main(["export", "onnx", "--checkpoint", str(tiny_checkpoint), "--img-size", "224", "--out", out]) == 2
    assert "built for 112 px" in capsys.readouterr().err
    assert main(["export", "onnx", "--checkpoint", str(tiny_checkpoint), "--max-persons", "65", "--out", out]) == 2
    assert "between 1 and 64" in capsys.readouterr().err
    assert main(["export", "onnx", "--checkpoint", str(tmp_path / "missing.pt"), "--out", out]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "onnx", "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "x.pt")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "onnx", "--checkpoint", str(tiny_checkpoint), "--fp16", "--int8", "--out", out])
    assert not (tmp_path / "x.onnx").exists()


def test_predict_with_onnx_backend_reproduces_fixture(fixture_onnx, multihmr_fixture, tmp_path):
    """The core issue's fixture check, through the CLI and the ONNX backend."""
    expected = np.load(multihmr_fixture / "expected_vits448.npz")
    rc = main(
        [
            "predict",
            str(multihmr_fixture / "input_448.png"),
            "--backend",
            "onnx",
            "--checkpoint",
            str(fixture_onnx),
            "--det-thresh",
            str(float(expected["det_thresh"])),
            "--device",
            "cpu",
            "--no-render",
            "--out",
            str(tmp_path),
            "-q",
        ]
    )
    assert rc == 0
    got = np.load(tmp_path / "input_448.npz", allow_pickle=False)
    assert str(got["body_model"]) == "smplx" and got["vertices"].shape == (3, 10475, 3)
    for key in ("vertices", "joints_3d", "transl", "transl_pelvis", "scores", "betas", "expression"):
        assert np.abs(got[key] - expected[key]).max() < 1e-4, key
    assert np.abs(got["loc"] - expected["loc"]).max() < 1e-2
    assert np.abs(got["joints_2d"] - expected["joints_2d"]).max() < 5e-2
    np.testing.assert_allclose(got["K"], expected["K_orig"], rtol=1e-6)
