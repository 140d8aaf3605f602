"""``-q`` is quiet: nothing but results and errors, native libraries' log lines included."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hmr.native_quiet import filtered_stderr, is_noise

pytestmark = pytest.mark.slow  # runs the CLIs in subprocesses with the keypoint models

REPO = Path(__file__).resolve().parents[2]
HMR = [sys.executable, "-m", "hmr.cli.main"]


def test_predict_q_prints_nothing(tmp_path):
    """Two photos through the open default (mediapipe graphs, Warp, Anny): not one line."""
    proc = subprocess.run(
        [
            *HMR,
            "predict",
            "-q",
            "examples/lab_three_people.jpg",
            "examples/outdoor_jump.jpg",
            "--out",
            str(tmp_path / "o"),
            "--no-render",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["lab_three_people.npz", "outdoor_jump.npz"]


def test_video_q_prints_nothing(tmp_path):
    frames = [np.asarray(Image.open(REPO / "examples" / "outdoor_jump.jpg").convert("RGB").resize((320, 240)))] * 3
    import av

    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    proc = subprocess.run(
        [*HMR, "video", "-q", str(clip), "--out", str(tmp_path / "o"), "--no-render"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    assert (tmp_path / "o" / "clip_tracks.npz").is_file()


def test_noise_lines_are_recognised():
    assert is_noise(
        b"W0000 00:00:1796173780.743607    5071 inference_feedback_manager.cc:114] Feedback manager "
        b"requires a model with a single signature inference. Disabling support for feedback tensors."
    )
    assert is_noise(b"I0000 00:00:1796173780.7 12 gl_context.cc:357] GL version: 3.2")
    assert is_noise(b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.")
    assert is_noise(
        b"Warp CUDA warning: Could not find or load the NVIDIA CUDA driver. GPU execution will not be available."
    )
    assert not is_noise(b"E0000 00:00:1796173780.7 12 calculator_graph.cc:887] INTERNAL: graph failed")
    assert not is_noise(b"hmr predict: skipped x.jpg: cannot decode")
    assert not is_noise(b"Traceback (most recent call last):")
    assert not is_noise(b"Warping the mesh")


def test_filter_drops_native_noise_and_keeps_the_rest(capfd):
    with filtered_stderr():
        os.write(2, b"W0000 00:00:1.5 7 inference_feedback_manager.cc:114] Feedback manager requires a model\n")
        os.write(2, b"hmr predict: skipped a.jpg: not an image\n")
        os.write(2, b"\r 50%|#####     | 1/2")  # a progress bar: a partial line, shown at once
        time.sleep(0.5)
        assert capfd.readouterr().err == "hmr predict: skipped a.jpg: not an image\n\r 50%|#####     | 1/2"
        os.write(2, b"W0000 00:00:1.5 7 x.cc:1] split ")  # a noise line arriving in two writes
        os.write(2, b"in two\nE0000 00:00:1.5 7 x.cc:2] a real error\n")
        print("python's own stderr", file=sys.stderr)
    # (under capfd, Python's sys.stderr bypasses fd 2, so only the set of lines is compared)
    assert sorted(capfd.readouterr().err.splitlines()) == [
        "E0000 00:00:1.5 7 x.cc:2] a real error",
        "python's own stderr",
    ]
