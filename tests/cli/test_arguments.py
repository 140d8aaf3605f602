"""Every CLI checks its arguments and its output location before it loads anything: one line on
stderr (``hmr predict: error: ...``), exit code 2, no traceback, no model loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = str(REPO / "examples" / "astronaut.jpg")
#: modules whose presence means a model or a heavy runtime was loaded
HEAVY = ("mediapipe", "anny", "hmr.infer.predictor", "hmr.nn.network", "onnxruntime", "gradio")
#: runs a CLI entry point in-process and reports, on its last stdout line, which heavy modules it loaded
RUNNER = """
import json, sys
from {module} import main
code = main(sys.argv[1:])
print(json.dumps({{"code": code, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def run_cli(module: str, *args: str) -> tuple[dict, str]:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER.format(module=module, heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return report, proc.stderr


def assert_one_line_error(report: dict, stderr: str, prefix: str, *words: str) -> None:
    lines = stderr.strip().splitlines()
    assert report["code"] == 2, stderr
    assert len(lines) == 1 and lines[0].startswith(f"{prefix}: error: "), stderr
    assert "Traceback" not in stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert report["loaded"] == [], f"loaded {report['loaded']} before refusing"


@pytest.fixture()
def a_file(tmp_path) -> Path:
    path = tmp_path / "existing_file"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["predict", EXAMPLE],
        ["video", str(REPO / "examples" / "none.mp4")],
    ],
)
@pytest.mark.parametrize("where", ["file", "under_file"])
def test_unusable_out_folder_is_refused_first(command, where, a_file):
    out = a_file if where == "file" else a_file / "sub"
    report, stderr = run_cli("hmr.cli.main", *command, "--out", str(out))
    assert_one_line_error(report, stderr, f"hmr {command[0]}", "--out", str(out))


def test_export_and_convert_check_their_output_file(a_file, tiny_checkpoint, tmp_path):
    report, stderr = run_cli(
        "hmr.cli.main", "export", "onnx", "--checkpoint", str(tiny_checkpoint), "--out", str(a_file / "model.onnx")
    )
    assert_one_line_error(report, stderr, "hmr export", "--out")
    (tmp_path / "folder.onnx").mkdir()
    report, stderr = run_cli(
        "hmr.cli.main", "export", "onnx", "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "folder.onnx")
    )
    assert_one_line_error(report, stderr, "hmr export", "is a folder")
    report, stderr = run_cli("hmr.cli.main", "convert", str(tiny_checkpoint), str(a_file / "x.pt"))
    assert_one_line_error(report, stderr, "hmr convert", "DST")
    report, stderr = run_cli(
        "hmr.cli.main", "export", "onnx", "--checkpoint", str(tmp_path / "gone.pt"), "--out", str(tmp_path / "m.onnx")
    )
    assert_one_line_error(report, stderr, "hmr export", "does not exist", "weights/README.md")


def test_hmr_data_checks_its_output_first(a_file, tmp_path):
    report, stderr = run_cli("data_tools.cli", "convert", "3dpw", "--src", str(tmp_path), "--out", str(a_file))
    assert_one_line_error(report, stderr, "hmr-data", "--out")
    report, stderr = run_cli(
        "data_tools.cli", "convert", "3dpw", "--src", str(tmp_path / "missing"), "--out", str(tmp_path / "o")
    )
    assert_one_line_error(report, stderr, "hmr-data", "--src")
    report, stderr = run_cli(
        "data_tools.cli", "convert", "3dpw", "--src", str(tmp_path), "--out", str(tmp_path / "o"), "--workers", "0"
    )
    assert_one_line_error(report, stderr, "hmr-data", "--workers")


ABSENT_GPU = "cuda:99" if torch.cuda.is_available() else "cuda"


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--fov", "0"], ["--fov", "(0, 180)"]),
        (["--fov", "200"], ["--fov"]),
        (["--batch-size", "0"], ["--batch-size", "at least 1"]),
        (["--batch-size", "-3"], ["--batch-size"]),
        (["--device", "tpu"], ["unknown --device 'tpu'"]),
        (["--device", ABSENT_GPU], ["--device", ABSENT_GPU]),
        (["--det-thresh", "1.5"], ["--det-thresh"]),
        (["--nms", "4"], ["--nms", "odd"]),
        (["--intrinsics", "0,500,10,10"], ["--intrinsics", "positive"]),
        (["--intrinsics", "500,500,10,10", "--fov", "50"], ["--fov", "--intrinsics"]),
    ],
)
@pytest.mark.parametrize("command", ["predict", "video"])
def test_bad_flag_values_are_refused_before_loading(command, flags, words, tmp_path):
    inputs = EXAMPLE if command == "predict" else str(tmp_path / "clip.mp4")
    report, stderr = run_cli("hmr.cli.main", command, inputs, "--out", str(tmp_path / "o"), *flags)
    assert_one_line_error(report, stderr, f"hmr {command}", *words)
    assert not (tmp_path / "o").exists()  # refused before anything was created


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--stride", "0"], ["--stride"]),
        (["--start", "-1"], ["--start"]),
        (["--start", "5", "--end", "2"], ["--end", "--start"]),
        (["--max-persons", "0"], ["--max-persons"]),
        (["--smooth", "-1"], ["--smooth"]),
    ],
)
def test_bad_video_options_are_refused_before_loading(flags, words, tmp_path):
    report, stderr = run_cli("hmr.cli.main", "video", str(tmp_path / "clip.mp4"), "--out", str(tmp_path / "o"), *flags)
    assert_one_line_error(report, stderr, "hmr video", *words)


def test_demo_checks_its_options_before_importing_gradio():
    report, stderr = run_cli("hmr.cli.main", "demo", "--port", "0")
    assert_one_line_error(report, stderr, "hmr demo", "--port")
    report, stderr = run_cli("hmr.cli.main", "demo", "--device", "tpu")
    assert_one_line_error(report, stderr, "hmr demo", "--device")


@pytest.mark.parametrize(
    "argv, usage",
    [
        (["hmr", "predict", EXAMPLE, "--no-such-flag"], "usage: hmr predict"),
        (
            ["hmr", "export", "onnx", "--checkpoint", "x.pt", "--out", "m.onnx", "--no-such-flag"],
            "usage: hmr export onnx",
        ),
        (["hmr-data", "stats", ".", "--no-such-flag"], "usage: hmr-data stats"),
    ],
)
def test_unknown_flag_prints_the_subcommand_usage(argv, usage):
    module = "hmr.cli.main" if argv[0] == "hmr" else "data_tools.cli"
    proc = subprocess.run(
        [sys.executable, "-m", module, *argv[1:]], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(usage), proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith("unrecognized arguments: --no-such-flag")


def test_a_video_given_to_predict_points_to_hmr_video(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 64)
    report, stderr = run_cli("hmr.cli.main", "predict", str(clip), "--out", str(tmp_path / "o"))
    assert report["code"] == 2 and report["loaded"] == []
    assert f"{clip}: is a video file; use hmr video" in stderr
    assert (
        stderr.strip().splitlines()[-1] == "hmr predict: error: no input images found; pass image files, "
        "folders or globs"
    )
    report, stderr = run_cli("hmr.cli.main", "video", EXAMPLE, "--out", str(tmp_path / "o"))
    assert "is an image file; use hmr predict" in stderr and report["code"] == 2
