"""A running demo server (tiny network, fake SMPL-X) and a headless system Chromium to drive it.

The server runs in a subprocess, as a user starts it (``hmr demo``), with its own temporary
folder, so tests can measure its memory and check what it leaves behind. The browser is Debian's
``chromium`` driven by Playwright; nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from server_process import DemoServer

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # a synthetic webcam (moving test pattern) that needs no permission prompt
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def demo_command(tiny_checkpoint: Path, fake_models_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "hmr.cli.main",
        "demo",
        "--checkpoint",
        str(tiny_checkpoint),
        "--models-dir",
        str(fake_models_dir),
        "--device",
        "cpu",
        "-q",
    ]


@pytest.fixture(scope="session")
def demo_server(tiny_checkpoint, fake_models_dir, tmp_path_factory):
    """``hmr demo`` serving the tiny SMPL-X network on a free loopback port."""
    tmp_dir = tmp_path_factory.mktemp("demo_server_tmp")
    server = DemoServer(demo_command(tiny_checkpoint, fake_models_dir), tmp_dir, tmp_dir.parent / "demo_server.log")
    yield server.wait_ready()
    server.stop()


@pytest.fixture(scope="session")
def example_image() -> Path:
    """A photo from ``examples/`` (several people, full bodies when that one is there)."""
    preferred = REPO / "examples" / "lab_three_people.jpg"
    if preferred.is_file():
        return preferred
    found = sorted(p for p in (REPO / "examples").glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert found, "examples/ holds no photo"
    return found[0]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium: a declared test dependency, so its absence fails rather than skips."""
    path = os.environ.get("HMR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium not found: apt-get install chromium (or set HMR_CHROMIUM to its path)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path, tmp_path_factory):
    """Headless system Chromium with a fresh profile, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium_profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()
