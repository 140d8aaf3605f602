from fractions import Fraction

import av
import numpy as np
import pytest

from hmr.errors import HmrError
from hmr.video.decode import VideoReader
from hmr.video.encode import h264_writer


def _pattern(width=64, height=48):
    """Quadrants of distinct grey levels: any rotation or mirror changes where they are."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = 40
    image[: height // 2, width // 2 :] = 100
    image[height // 2 :, : width // 2] = 160
    image[height // 2 :, width // 2 :] = 220
    return image


@pytest.mark.parametrize(
    "rotation, hflip, vflip",
    [
        (90, False, False),
        (-90, False, False),
        (180, False, False),
        (0, True, False),
        (90, True, False),
        (0, False, True),
    ],
)
def test_display_matrix_is_applied(synth, tmp_path, rotation, hflip, vflip):
    image = _pattern()
    path = tmp_path / "oriented.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(rotation, hflip=hflip, vflip=vflip)  # PyAV: rotate CCW, then mirror
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    expected = np.rot90(image, rotation // 90)
    expected = expected[:, ::-1] if hflip else expected
    expected = expected[::-1] if vflip else expected
    with VideoReader(path) as reader:
        [decoded] = list(reader)
    assert decoded.image.shape == expected.shape
    assert np.abs(decoded.image.astype(int) - expected).mean() < 4


def test_timestamps_indices_and_range(synth, tmp_path):
    times = np.array([0.0, 0.04, 0.1, 0.12, 0.2, 0.25, 0.3, 0.41, 0.45, 0.5])
    frames = [synth.draw_squares(64, 48, [(10 + 4 * i, 20)]) for i in range(10)]
    path = synth.write_video(tmp_path / "vfr.mp4", frames, times_s=times)
    with VideoReader(path) as reader:
        all_frames = list(reader)
    np.testing.assert_allclose([f.time_s for f in all_frames], times, atol=1e-6)
    assert [f.index for f in all_frames] == list(range(10))
    with VideoReader(path, start_s=0.1, end_s=0.45, stride=2) as reader:
        picked = list(reader)
    assert [f.index for f in picked] == [2, 4, 6]  # frames at 0.1, 0.2, 0.3 (0.12, 0.25, 0.41 skipped)
    assert reader.info.num_frames == 10


def test_reader_errors_are_one_line_user_errors(tmp_path):
    with pytest.raises(HmrError, match="no such file"):
        VideoReader(tmp_path / "missing.mp4")
    (tmp_path / "text.mp4").write_text("hello")
    with pytest.raises(HmrError, match="cannot be read as a video"):
        VideoReader(tmp_path / "text.mp4")


def test_writer_pads_odd_sizes_and_keeps_times(synth, tmp_path):
    path = tmp_path / "odd.mp4"
    times = [0.0, 0.05, 0.05, 0.2]  # a repeated time is nudged forward, never dropped
    with h264_writer(path, Fraction(1, 1000), 30.0) as writer:
        for t in times:
            writer.write(np.full((31, 45, 3), 128, np.uint8), t)
        assert not path.exists()  # only complete files carry the final name
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (46, 32)
        decoded = [float(f.time) for f in container.decode(stream)]
    assert len(decoded) == 4
    np.testing.assert_allclose(decoded, [0.0, 0.05, 0.051, 0.2], atol=1e-6)


def test_writer_leaves_nothing_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with h264_writer(tmp_path / "broken.mp4", Fraction(1, 1000), 30.0) as writer:
            writer.write(np.zeros((32, 32, 3), np.uint8), 0.0)
            raise RuntimeError("renderer crashed")
    assert list(tmp_path.iterdir()) == []
