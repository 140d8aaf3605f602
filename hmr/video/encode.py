"""H.264 ``.mp4`` writing with PyAV, keeping the source's timestamps, committed atomically.

PyAV's wheels bundle libx264 (OpenCV's wheels cannot write H.264). Every frame is stamped with
its source presentation time, so the overlay has the input's frame count and timing, variable
frame rate included. The file appears under its final name only once it is complete.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hmr.atomic import atomic_path
from hmr.errors import HmrError


class H264Writer:
    """Frames ``(H, W, 3)`` uint8 RGB plus a time in seconds -> an H.264 stream.

    The first frame fixes the size; odd sizes get one replicated row/column (4:2:0 needs even
    sizes). Times are made relative to the first frame, so a clip cut with ``--start`` plays
    from 0, and are rounded to ``time_base`` (the source's, so nothing is lost).
    """

    def __init__(
        self, path: str | os.PathLike, time_base: Fraction, fps: float, crf: int = 20, preset: str = "veryfast"
    ) -> None:
        self.path = Path(path)
        self.time_base = time_base
        self.fps = fps if fps and fps > 0 else 30.0
        self.crf, self.preset = crf, preset
        self.frames_written = 0
        self._container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        self._stream: av.video.stream.VideoStream | None = None
        self._size: tuple[int, int] | None = None
        self._t0_s = 0.0
        self._last_pts = -1

    def _open_stream(self, width: int, height: int) -> None:
        stream = self._container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001 * 1000))
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = self.time_base
        stream.options = {"crf": str(self.crf), "preset": self.preset}
        self._stream, self._size = stream, (width, height)

    def write(self, image: np.ndarray, time_s: float) -> None:
        height, width = image.shape[:2]
        if self._stream is None:
            self._open_stream(width, height)
            self._t0_s = time_s
        elif (width, height) != self._size:
            raise HmrError(f"{self.path.name}: frame size changed from {self._size} to {(width, height)} mid-video")
        if width % 2 or height % 2:
            image = np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        pts = int(round((time_s - self._t0_s) / self.time_base))
        frame.pts = max(pts, self._last_pts + 1)  # the muxer needs strictly increasing times
        frame.time_base = self.time_base
        self._last_pts = frame.pts
        assert self._stream is not None  # opened by the first frame
        self._container.mux(self._stream.encode(frame))
        self.frames_written += 1

    def finish(self) -> None:
        """Flush the encoder and write the index; the file is complete afterwards."""
        if self._stream is None:
            raise HmrError(f"{self.path.name}: no frames to write")
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def close(self) -> None:
        self._container.close()


@contextlib.contextmanager
def h264_writer(
    path: str | os.PathLike, time_base: Fraction, fps: float, crf: int = 20, preset: str = "veryfast"
) -> Iterator[H264Writer]:
    """An :class:`H264Writer` on a temporary file renamed onto ``path`` only if the block succeeds."""
    with atomic_path(path) as tmp:
        writer = H264Writer(tmp, time_base, fps, crf, preset)
        try:
            yield writer
            writer.finish()
        finally:
            writer.close()
