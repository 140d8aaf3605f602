import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # subprocess with EGL and a network

REPO = Path(__file__).resolve().parents[2]


def test_network_can_be_built_after_an_egl_overlay():
    """Mesa's EGL and triton (imported by timm) each bring an LLVM; the renderer loads triton first,
    so building a network after an overlay was drawn does not crash the process."""
    script = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
import numpy as np
from hmr.render import render_overlay
triangle = np.array([[0, 0, 2.0], [0.1, 0, 2], [0, 0.1, 2]])
K = np.array([[100, 0, 50], [0, 100, 50], [0, 0, 1.0]])
render_overlay(np.zeros((100, 100, 3), np.uint8), [triangle], np.array([[0, 1, 2]]), K, backend="egl")
import timm
print("alive")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "alive" in done.stdout, done.stderr[-2000:]
