"""``hmr video`` argument plumbing, with the square finder standing in for the network."""

import numpy as np
import pytest

import hmr.cli.video as cli_video
from hmr.body.base import ParamSpec
from hmr.cli.main import main


class _FakePredictor:
    """What ``hmr video`` uses of a Predictor: ``predict`` and the body model's parameter kinds."""

    def __init__(self, finder):
        self.finder = finder
        self.calls = []
        self.param_specs = {"global_orient": ParamSpec("global_orient", (1, 3), "rotvec")}

    def predict(self, images, K=None, fov=None, det_thresh=0.3, nms_kernel=3):
        self.calls.append({"n": len(images), "K": K, "fov": fov, "det_thresh": det_thresh, "nms_kernel": nms_kernel})
        return self.finder(images, K)


@pytest.fixture
def fake_predictor(synth, monkeypatch):
    predictor = _FakePredictor(synth.SquareFinder())
    monkeypatch.setattr(cli_video, "predictor_from_args", lambda args: predictor)
    return predictor


def _video(synth, path, n=10):
    return synth.write_video(path, [synth.draw_squares(160, 120, [(20 + 5 * i, 60)]) for i in range(n)])


def test_video_command_writes_tracks_and_skips_on_rerun(synth, tmp_path, fake_predictor, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    _video(synth, folder / "one.mp4")
    _video(synth, folder / "two.mkv", n=6)
    out = tmp_path / "out"
    argv = [
        "video",
        str(folder),
        "--out",
        str(out),
        "--no-render",
        "-q",
        "--batch-size",
        "3",
        "--det-thresh",
        "0.5",
        "--nms",
        "5",
        "--fov",
        "50",
        "--smooth",
        "2",
    ]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["one_tracks.npz", "two_tracks.npz"]
    assert {c["n"] for c in fake_predictor.calls} <= {1, 3}
    assert all(c["fov"] == 50 and c["det_thresh"] == 0.5 and c["nms_kernel"] == 5 for c in fake_predictor.calls)
    with np.load(out / "one_tracks.npz", allow_pickle=False) as data:
        assert float(data["smooth"]) == 2.0 and list(data["track_ids"]) == [0]
        assert len(data["frame_index"]) == 10
    calls = len(fake_predictor.calls)
    assert main(argv) == 0 and len(fake_predictor.calls) == calls  # done videos are skipped
    assert main(argv + ["--overwrite"]) == 0 and len(fake_predictor.calls) > calls


def test_video_command_reports_a_broken_file_and_goes_on(synth, tmp_path, fake_predictor, capsys):
    good = _video(synth, tmp_path / "good.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    out = tmp_path / "out"
    code = main(["video", str(broken), str(good), "--out", str(out), "--no-render", "-q"])
    assert code == 1
    assert "broken.mp4" in capsys.readouterr().err
    assert (out / "good_tracks.npz").exists() and not (out / "broken_tracks.npz").exists()


def test_video_command_option_errors(synth, tmp_path, fake_predictor, capsys):
    clip = _video(synth, tmp_path / "clip.mp4", n=2)
    assert main(["video", str(clip), "--fov", "50", "--intrinsics", "100,100,80,60", "-q"]) == 2
    assert "--fov or --intrinsics" in capsys.readouterr().err
    assert main(["video", str(tmp_path / "missing*.mp4"), "-q"]) == 2
    assert main(["video", str(clip), "--out", str(tmp_path / "o"), "--smooth", "-1", "-q"]) == 2


def test_intrinsics_option_reaches_the_network(synth, tmp_path, fake_predictor):
    clip = _video(synth, tmp_path / "clip.mp4", n=3)
    assert (
        main(["video", str(clip), "--out", str(tmp_path / "o"), "--intrinsics", "100,110,80,60", "--no-render", "-q"])
        == 0
    )
    np.testing.assert_allclose(fake_predictor.calls[0]["K"], [[100, 0, 80], [0, 110, 60], [0, 0, 1]])


def test_video_command_renders_the_overlay_with_track_colours(synth, tmp_path, fake_predictor):
    clip = _video(synth, tmp_path / "clip.mp4", n=6)
    assert main(["video", str(clip), "--out", str(tmp_path / "o"), "-q"]) == 0
    overlay = tmp_path / "o" / "clip.mp4"
    np.testing.assert_allclose(synth.read_frame_times(overlay), synth.read_frame_times(clip), atol=1e-6)
    import av

    with av.open(str(clip)) as source, av.open(str(overlay)) as drawn:
        before = next(source.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        after = next(drawn.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert np.abs(after - before).max() > 50  # the synthetic body was drawn over the frame
