"""Every package imports on its own, first thing in a fresh interpreter (no order-dependent cycles)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import hmr

pytestmark = pytest.mark.slow  # one interpreter per package

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(["hmr", "data_tools", "demo"] + [f"hmr.{m.name}" for m in pkgutil.iter_modules(hmr.__path__)])


def test_every_package_and_base_module_imports_alone():
    assert {"hmr.fit", "hmr.infer", "hmr.nn", "hmr.compat", "hmr.result", "hmr.onnx_format"} <= set(PACKAGES)
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", f"import {name}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for name in PACKAGES
    }
    failed = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        if proc.returncode:
            failed[name] = err.strip().splitlines()[-1]
    assert not failed, failed
