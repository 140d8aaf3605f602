"""``hmr eval`` end to end on a generated set: the open default, a .safetensors network and its ONNX export."""

from __future__ import annotations

import json

import pytest

from data_tools.synth import run_synth
from hmr.cli.main import main
from hmr.synth.generate import SynthConfig
from hmr.synth.presets import default_preset


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_cli")
    preset = default_preset(2, seed=3, config=SynthConfig(width=320, height=240, people=(1, 2)), images_per_shard=2)
    run_synth(out, preset, quiet=True)
    return out


@pytest.mark.slow
def test_open_default_end_to_end_resumes_from_its_cache_and_compares(synth_root, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["eval", str(synth_root), "--out", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("protocol synth:")
    report = json.loads((out / "report.json").read_text())
    assert report["protocol"]["name"] == "synth" and report["images"] == 2
    assert report["predictor"].startswith("open default")
    assert 0.0 <= report["recall"] <= 1.0 and report["people"] >= 2
    cached = sorted((out / "predictions").glob("*.npz"))
    assert len(cached) == 2
    stamps = [p.stat().st_mtime_ns for p in cached]
    (out / "report.json").unlink()  # as if killed before the end: the rerun reuses every prediction
    assert main(["eval", str(synth_root), "--out", str(out), "-q", "--compare", str(tmp_path / "missing.json")]) == 2
    assert main(["eval", str(synth_root), "--out", str(out), "-q"]) == 0
    assert [p.stat().st_mtime_ns for p in cached] == stamps
    capsys.readouterr()
    assert main(["eval", str(synth_root), "--predictions", str(out / "predictions"), "--out", str(tmp_path / "b"),
                 "-q", "--compare", str(out)]) == 0  # fmt: skip
    comparison = capsys.readouterr().out
    assert "difference" in comparison and "recall" in comparison


@pytest.mark.slow
def test_a_network_and_its_onnx_export_evaluate_alike(synth_root, tiny_checkpoint, fake_models_dir, tmp_path):
    from hmr.body import load_body_model
    from hmr.export import export_onnx

    onnx = export_onnx(
        tiny_checkpoint, tmp_path / "tiny.onnx", max_persons=32, body_model=load_body_model("smplx", fake_models_dir)
    )
    reports = {}
    for name, extra in (("torch", ["--checkpoint", str(tiny_checkpoint)]),
                        ("onnx", ["--checkpoint", str(onnx), "--backend", "onnx"])):  # fmt: skip
        out = tmp_path / name
        argv = ["eval", str(synth_root), *extra, "--models-dir", str(fake_models_dir), "--out", str(out), "-q"]
        assert main(argv) == 0
        reports[name] = json.loads((out / "report.json").read_text())
    for report in reports.values():
        assert report["protocol"]["name"] == "synth"
        assert any("smplx prediction on anny ground truth" in n for n in report["notes"])
    assert reports["torch"]["predictions"] == reports["onnx"]["predictions"]
    assert reports["torch"]["matched"] == reports["onnx"]["matched"]


def test_bad_input_is_one_line_and_writes_no_report(synth_root, tmp_path, capsys):
    out = tmp_path / "r"
    cases = [
        (["eval", str(tmp_path / "nope")], "is not a folder"),
        (["eval", str(synth_root), "--predictions", str(tmp_path), "--checkpoint", "x.pt"], "not both"),
        (["eval", str(synth_root), "--checkpoint", str(tmp_path / "missing.safetensors")], "missing.safetensors"),
        (["eval", str(synth_root), "--predictions", str(tmp_path / "empty")], "not a folder of .npz"),
    ]
    for argv, message in cases:
        assert main([*argv, "--out", str(out), "-q"]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    assert not (out / "report.json").exists()
