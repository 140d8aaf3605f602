"""``python demo/app.py`` starts the same demo, and stopping it (SIGTERM, as a service manager does)
exits cleanly and leaves no temporary file behind."""

from __future__ import annotations

import sys

import pytest
from gradio_client import Client, handle_file
from server_process import REPO, DemoServer

pytestmark = pytest.mark.slow  # starts demo servers


def files_under(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_script_entry_point_serves_and_cleans_up_on_sigterm(tiny_checkpoint, fake_models_dir, example_image, tmp_path):
    tmp_dir = tmp_path / "server_tmp"
    tmp_dir.mkdir()
    server = DemoServer(
        [
            sys.executable,
            str(REPO / "demo" / "app.py"),
            "--checkpoint",
            str(tiny_checkpoint),
            "--models-dir",
            str(fake_models_dir),
            "--device",
            "cpu",
            "-q",
        ],
        tmp_dir,
        tmp_path / "log.txt",
    )
    try:
        server.wait_ready()
        client = Client(server.url, verbose=False)
        *_, files, _, status = client.predict(
            handle_file(str(example_image)),
            str(tiny_checkpoint),
            "auto",
            "torch",
            0.3,
            3,
            60,
            "",
            api_name="/predict_image",
        )
        assert status.startswith("Found")
        (private,) = tmp_dir.glob("hmr-demo-*")
        assert [p for p in files_under(private) if p.suffix == ".glb"], "results wait there to be downloaded"
        assert [p for p in files_under(tmp_dir) if private not in p.parents] == []  # nothing outside it
    finally:
        code = server.stop()
    assert code == 0, server.log()
    assert files_under(tmp_dir) == []
