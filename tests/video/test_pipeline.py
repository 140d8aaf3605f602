import av
import numpy as np
import pytest

from hmr.video.pipeline import VideoOptions, VideoPipeline
from hmr.video.tracks_io import load_tracks

W, H = 160, 120


def _mark_people(image, result):
    """Test overlay: a pure red 4x4 block on each person's pelvis (the square's centre)."""
    out = image.copy()
    for person in result.persons:
        x, y = np.round(person.joints_2d[0]).astype(int)
        out[max(0, y - 2) : y + 2, max(0, x - 2) : x + 2] = (255, 0, 0)
    return out


def _crossing_video(synth, path, n=36, times_s=None, gap=range(20, 23)):
    """Square a moves right, square b moves left 30 px lower; b vanishes during ``gap``."""
    frames = []
    for i in range(n):
        a = (15 + i * 130 / n, 40)
        b = (145 - i * 130 / n, 70)
        frames.append(synth.draw_squares(W, H, [a] if i in gap else [a, b]))
    return synth.write_video(path, frames, times_s=times_s)


def _noisy_frames(n, seed):
    """Dark noise (hard to compress, so files are long enough to damage) under one bright square."""
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 90, (H, W, 3), dtype=np.uint8) for _ in range(n)]
    for i, frame in enumerate(frames):
        frame[50:62, 20 + 3 * i : 32 + 3 * i] = 230
    return frames


def _pipeline(synth, render=True, **options):
    finder = synth.SquareFinder()
    options.setdefault("progress", False)
    return VideoPipeline(finder, VideoOptions(**options), _mark_people if render else None), finder


def test_overlay_keeps_frame_count_and_timing_and_tracks_are_stable(synth, tmp_path):
    rng = np.random.default_rng(0)
    times = np.concatenate([[0.0], np.cumsum(rng.choice([1 / 30, 1 / 20, 1 / 24], 35))])  # variable rate
    source = _crossing_video(synth, tmp_path / "walk.mp4", times_s=times)
    pipeline, finder = _pipeline(synth, batch_size=4)
    [report] = pipeline.run([source], tmp_path / "out")
    assert report.status == "done" and report.frames == 36 and not report.warnings
    overlay = tmp_path / "out" / "walk.mp4"
    np.testing.assert_allclose(synth.read_frame_times(overlay), synth.read_frame_times(source), atol=1e-6)
    with av.open(str(overlay)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == (W, H)
        frame = next(container.decode(stream)).to_ndarray(format="rgb24")
    red = (frame[..., 0] > 200) & (frame[..., 1] < 80)
    assert red[30:50, 5:30].any() and red[60:80, 130:160].any()  # markers on both squares

    tracks = load_tracks(tmp_path / "out" / "walk_tracks.npz")
    assert sorted(tracks) == [0, 1]
    a, b = sorted(tracks.values(), key=lambda t: t["joints_2d"][0, 0, 0])
    assert len(a["frame_index"]) == 36 and len(b["frame_index"]) == 33
    assert np.all(np.diff(a["joints_2d"][:, 0, 0]) > 0) and np.all(np.diff(b["joints_2d"][:, 0, 0]) < 0)
    assert set(range(36)) - set(b["frame_index"]) == {20, 21, 22}
    np.testing.assert_allclose(a["time_s"], times, atol=1e-3)
    with np.load(tmp_path / "out" / "walk_tracks.npz", allow_pickle=False) as data:
        assert list(data["video_frame_index"]) == list(range(36))
        assert tuple(data["image_size"]) == (W, H) and str(data["body_model"]) == "synthetic"
        assert "vertices" not in data.files
    assert finder.frames_seen == 36 and finder.calls == 9
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp files left


def test_rotated_video_is_processed_upright(synth, tmp_path):
    frames = [synth.draw_squares(W, H, [(30 + i, 30)]) for i in range(10)]
    source = synth.write_video(tmp_path / "phone.mp4", frames, rotation_deg=-90)  # shown turned clockwise
    pipeline, finder = _pipeline(synth)
    pipeline.run([source], tmp_path / "out")
    with av.open(str(tmp_path / "out" / "phone.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (H, W)
    tracks = load_tracks(tmp_path / "out" / "phone_tracks.npz")
    # (30, 30) in the stored frame is at (H - 30, 30) once turned clockwise
    np.testing.assert_allclose(tracks[0]["joints_2d"][0, 0], [H - 30, 30], atol=2)


def test_stride_start_end_max_persons_and_meshes(synth, tmp_path):
    source = _crossing_video(synth, tmp_path / "walk.mp4", gap=())
    pipeline, _ = _pipeline(synth, render=False, stride=2, start_s=0.2, end_s=1.0, max_persons=1, save_meshes=True)
    [report] = pipeline.run([source], tmp_path / "out")
    assert report.outputs == [tmp_path / "out" / "walk_tracks.npz"]  # no overlay with render off
    with np.load(report.outputs[0], allow_pickle=False) as data:
        assert list(data["video_frame_index"]) == list(range(6, 30, 2))
        np.testing.assert_allclose(data["video_time_s"], np.arange(6, 30, 2) / 30, atol=1e-3)
        assert np.all(np.bincount(data["frame_index"]) <= 1)  # one person per frame kept
        assert data["vertices"].shape == (len(data["track_id"]), 8, 3) and data["faces"].shape == (2, 3)


def test_rerun_skips_done_videos_and_overwrite_redoes_them(synth, tmp_path):
    source = _crossing_video(synth, tmp_path / "walk.mp4", n=8)
    pipeline, finder = _pipeline(synth)
    assert pipeline.run([source], tmp_path / "out")[0].status == "done"
    calls = finder.calls
    assert pipeline.run([source], tmp_path / "out")[0].status == "skipped"
    assert finder.calls == calls
    redo, redo_finder = _pipeline(synth, overwrite=True)
    assert redo.run([source], tmp_path / "out")[0].status == "done" and redo_finder.calls > 0


def test_broken_and_truncated_files_are_reported_not_fatal(synth, tmp_path):
    good = _crossing_video(synth, tmp_path / "good.mp4", n=12)
    frames = _noisy_frames(30, seed=0)
    streamable = synth.write_video(tmp_path / "full.mp4", frames, container_options={"movflags": "faststart"})
    data = streamable.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])  # index first: the first half still decodes
    unindexed = tmp_path / "unindexed.mp4"
    unindexed.write_bytes(good.read_bytes()[:-2000])  # index at the end: nothing to read
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"not a video" * 200)
    pipeline, _ = _pipeline(synth)
    reports = pipeline.run([junk, truncated, unindexed, good], tmp_path / "out")
    status = {r.source.name: r for r in reports}
    assert status["junk.mkv"].status == "failed" and "junk.mkv" in status["junk.mkv"].error
    assert status["unindexed.mp4"].status == "failed"
    assert status["truncated.mp4"].status == "done" and 0 < status["truncated.mp4"].frames < 30
    assert any("truncated" in w or "damaged" in w for w in status["truncated.mp4"].warnings)
    assert status["good.mp4"].status == "done" and status["good.mp4"].frames == 12
    assert not (tmp_path / "out" / "junk_tracks.npz").exists()


def test_damaged_bytes_mid_file_skip_frames_only(synth, tmp_path):
    rng = np.random.default_rng(1)
    frames = _noisy_frames(30, seed=1)
    source = synth.write_video(tmp_path / "noisy.mp4", frames)  # mp4 indexes every packet: no resync needed
    data = bytearray(source.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = rng.integers(0, 255, 3000, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    pipeline, _ = _pipeline(synth)
    [report] = pipeline.run([damaged], tmp_path / "out")
    assert report.status == "done" and 20 <= report.frames < 30, report
    assert any("damaged" in w for w in report.warnings)


def test_interrupt_leaves_no_partial_files(synth, tmp_path):
    source = _crossing_video(synth, tmp_path / "walk.mp4", n=16)
    finder = synth.SquareFinder()

    def interrupted(frames, K):
        if finder.calls == 2:
            raise KeyboardInterrupt
        return finder(frames, K)

    pipeline = VideoPipeline(interrupted, VideoOptions(batch_size=4, progress=False), _mark_people)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run([source], tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_output_never_overwrites_the_input(synth, tmp_path):
    source = _crossing_video(synth, tmp_path / "walk.mp4", n=4)
    pipeline, _ = _pipeline(synth)
    [report] = pipeline.run([source], tmp_path)
    assert report.status == "failed" and "overwrite the input" in report.error
    assert source.stat().st_size > 0 and not (tmp_path / "walk_tracks.npz").exists()


def test_intrinsics_are_passed_to_the_network(synth, tmp_path):
    source = _crossing_video(synth, tmp_path / "walk.mp4", n=4)
    K = np.array([[200.0, 0, 80], [0, 200.0, 60], [0, 0, 1]])
    pipeline, _ = _pipeline(synth, render=False, K=K)
    [report] = pipeline.run([source], tmp_path / "out")
    with np.load(report.outputs[0], allow_pickle=False) as data:
        np.testing.assert_allclose(data["K"], K)


def test_frames_without_people_are_recorded(synth, tmp_path):
    frames = [synth.draw_squares(W, H, [] if i < 3 else [(40 + 2 * i, 60)]) for i in range(8)]
    source = synth.write_video(tmp_path / "late.mp4", frames)
    pipeline, _ = _pipeline(synth, render=False)
    [report] = pipeline.run([source], tmp_path / "out")
    with np.load(report.outputs[0], allow_pickle=False) as data:
        assert list(data["video_frame_index"]) == list(range(8))
        assert list(data["frame_index"]) == list(range(3, 8)) and data["K"].shape == (3, 3)


def test_nobody_in_any_frame_keeps_every_row_field(synth, tmp_path):
    """A video where nobody is seen: the same row fields and trailing shapes as one with people."""
    empty_src = synth.write_video(tmp_path / "empty.mp4", [synth.draw_squares(W, H, []) for _ in range(4)])
    full_src = synth.write_video(tmp_path / "full.mp4", [synth.draw_squares(W, H, [(60, 60)]) for _ in range(4)])
    pipeline, _ = _pipeline(synth, render=False, save_meshes=True)
    empty_report, full_report = pipeline.run([empty_src, full_src], tmp_path / "out")
    with (
        np.load(empty_report.outputs[0], allow_pickle=False) as empty,
        np.load(full_report.outputs[0], allow_pickle=False) as full,
    ):
        assert sorted(empty["row_fields"]) == sorted(full["row_fields"])
        assert "param_global_orient" in set(empty["row_fields"]) and len(full["track_id"]) == 4
        for name in full["row_fields"]:
            assert empty[name].shape == (0, *full[name].shape[1:]), name
        assert list(empty["video_frame_index"]) == [0, 1, 2, 3]


def test_start_past_the_end_says_so(synth, tmp_path):
    source = _crossing_video(synth, tmp_path / "short.mp4", n=30)  # 1 s at 30 fps
    pipeline, _ = _pipeline(synth, render=False, start_s=10.0)
    [report] = pipeline.run([source], tmp_path / "out")
    assert report.status == "failed"
    assert "--start 10 s is past the end of the video (1.00 s long)" in report.error


def test_overlay_offset_is_recorded(synth, tmp_path):
    """The overlay plays from 0 s; overlay_start_s maps it back to the source times in the tracks file."""
    source = _crossing_video(synth, tmp_path / "walk.mp4", n=30, gap=())
    pipeline, _ = _pipeline(synth, stride=2, start_s=0.5)
    [report] = pipeline.run([source], tmp_path / "out")
    overlay, tracks = report.outputs
    with np.load(tracks, allow_pickle=False) as data:
        start = float(data["overlay_start_s"])
        assert start == pytest.approx(data["video_time_s"][0]) and start == pytest.approx(15 / 30, abs=1e-3)
        overlay_times = synth.read_frame_times(overlay)
        np.testing.assert_allclose(overlay_times + start, data["video_time_s"], atol=2e-3)
