"""``hmr video`` on a real (tiny, randomly initialised) network, Anny body, both outputs."""

import numpy as np
import pytest
import torch

from hmr.body import param_layout
from hmr.cli.main import main
from hmr.nn import build_network, get_config, save_network
from hmr.video.tracks_io import load_tracks

pytestmark = pytest.mark.slow  # encodes and decodes videos end to end


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    return save_network(
        build_network(get_config("test-tiny-112", body_model="anny")),
        tmp_path_factory.mktemp("net") / "tiny.safetensors",
    )


def test_video_command_with_a_tiny_network(synth, tmp_path, tiny_checkpoint):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(6)]
    clip = synth.write_video(tmp_path / "clip.mp4", frames)
    out = tmp_path / "out"
    assert (
        main(
            [
                "video",
                str(clip),
                "--checkpoint",
                str(tiny_checkpoint),
                "--device",
                "cpu",
                "--out",
                str(out),
                "--max-persons",
                "2",
                "--det-thresh",
                "0.0",
                "--batch-size",
                "3",
                "--save-meshes",
                "-q",
            ]
        )
        == 0
    )
    np.testing.assert_allclose(synth.read_frame_times(out / "clip.mp4"), synth.read_frame_times(clip), atol=1e-6)
    with np.load(out / "clip_tracks.npz", allow_pickle=False) as data:
        assert str(data["body_model"]) == "anny" and tuple(data["image_size"]) == (128, 96)
        assert np.bincount(data["frame_index"], minlength=6).tolist() == [2] * 6  # --max-persons 2
        assert data["vertices"].shape[1:] == (13718, 3) and data["faces"].shape[1] == 3
        assert {"param_global_orient", "param_body_pose", "param_age"} <= set(data["row_fields"])
    tracks = load_tracks(out / "clip_tracks.npz")
    assert sum(len(t["frame_index"]) for t in tracks.values()) == 12
    for track in tracks.values():
        assert np.all(np.diff(track["frame_index"]) > 0)
        age = param_layout("anny")["age"]
        assert np.all((track["param_age"] >= age.low) & (track["param_age"] <= age.high))  # blends stay in bounds
