"""Streamed video decoding with PyAV: one frame in memory at a time, shown upright, with its timestamp.

- Orientation: phones store frames sideways plus a display matrix; we apply its rotation (and
  mirror) so that frames, intrinsics and overlays are in the orientation the viewer sees.
- Time: frames keep their presentation timestamps (seconds), so variable frame rate survives
  into tracking, smoothing, the ``_tracks.npz`` and the overlay video.
- Damage: a packet the decoder rejects is counted and skipped; a container that stops early is
  noted; both end up in :attr:`VideoReader.warnings` rather than ending the batch.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import av
import numpy as np

from hmr.errors import HmrError

if TYPE_CHECKING:
    from av.sidedata.sidedata import SideDataContainer


@dataclass(frozen=True)
class Orientation:
    """Display transform: rotate counter-clockwise by ``rotation_deg``, then mirror left-right if ``hflip``."""

    rotation_deg: int = 0
    hflip: bool = False

    @classmethod
    def from_display_matrix(cls, matrix_bytes: bytes) -> Orientation:
        """Parse FFmpeg's 3x3 display matrix (9 int32, 16.16 fixed point for the 2x2 part)."""
        m = struct.unpack("<9i", matrix_bytes[:36])
        a, b, c, d = (v / 65536.0 for v in (m[0], m[1], m[3], m[4]))
        hflip = a * d - b * c < 0
        if hflip:  # a mirror negates the first column of a pure rotation
            a, c = -a, -c
        rotation = int(round(math.degrees(math.atan2(c, a)) / 90.0)) * 90
        return cls(((rotation + 180) % 360) - 180, hflip)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` stored frame -> displayed frame."""
        upright = np.rot90(image, k=self.rotation_deg // 90) if self.rotation_deg else image
        if self.hflip:
            upright = upright[:, ::-1]
        return np.ascontiguousarray(upright)


@dataclass
class Frame:
    """One displayed frame. ``index`` counts decoded frames from the start of the stream."""

    index: int
    time_s: float
    image: np.ndarray  # (H, W, 3) uint8 RGB, upright


@dataclass(frozen=True)
class VideoInfo:
    """What the container says before decoding; ``num_frames`` is an estimate (0 when unknown)."""

    path: Path
    num_frames: int
    fps: float
    duration_s: float
    time_base: Fraction

    def frames_between(self, start_s: float = 0.0, end_s: float | None = None, stride: int = 1) -> int:
        """Estimated frames a :class:`VideoReader` with these options yields (0 when unknown)."""
        if not self.num_frames or not self.fps:
            return self.num_frames
        first = int(math.ceil(start_s * self.fps - 1e-6))
        last = self.num_frames if end_s is None else min(self.num_frames, int(math.ceil(end_s * self.fps - 1e-6)))
        return max(0, math.ceil((last - first) / stride))


def probe(path: str | os.PathLike) -> VideoInfo:
    with _open(path) as container:
        return _info(Path(path), container, container.streams.video[0])


def _open(path: str | os.PathLike) -> av.container.InputContainer:
    try:
        container = av.open(str(path), mode="r")
    except FileNotFoundError:
        raise HmrError(f"{path}: no such file") from None
    except (av.error.FFmpegError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or exc  # FFmpeg's message without the path repeated
        raise HmrError(f"{path}: cannot be read as a video ({reason}); is the file complete?") from None
    if not container.streams.video:
        container.close()
        raise HmrError(f"{path}: has no video stream (a truncated .mp4 loses its index); is the file complete?")
    return container


def _info(path: Path, container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> VideoInfo:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if stream.duration is not None and stream.time_base:
        duration_s = float(stream.duration * stream.time_base)
    else:
        duration_s = container.duration / av.time_base if container.duration else 0.0
    num_frames = stream.frames or (int(round(duration_s * fps)) if fps and duration_s else 0)
    return VideoInfo(path, num_frames, fps, duration_s, stream.time_base or Fraction(1, 90000))


class VideoReader:
    """Iterate over the displayed frames of ``path`` between ``start_s`` and ``end_s``, every
    ``stride``-th one. Frames before ``start_s`` are decoded but never converted, so frame
    indices stay exact (seeking would only give estimates with variable frame rate)."""

    def __init__(
        self, path: str | os.PathLike, start_s: float = 0.0, end_s: float | None = None, stride: int = 1
    ) -> None:
        if stride < 1:
            raise HmrError(f"--stride must be >= 1, got {stride}")
        if end_s is not None and end_s <= start_s:
            raise HmrError(f"--end ({end_s}) must be after --start ({start_s})")
        self.path = Path(path)
        self.start_s, self.end_s, self.stride = start_s, end_s, stride
        self._container = _open(path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"  # frame + slice threads: decoding keeps up with the network
        self.info = _info(self.path, self._container, self._stream)
        self.warnings: list[str] = []
        self.frames_decoded = 0

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    @property
    def expected_frames(self) -> int:
        return self.info.frames_between(self.start_s, self.end_s, self.stride)

    def __iter__(self) -> Iterator[Frame]:
        orientation: Orientation | None = None
        kept = 0
        time_base = self._stream.time_base
        last_time_s = -1.0 / (self.info.fps or 30.0)
        for frame in self._decoded():
            index = self.frames_decoded
            self.frames_decoded += 1
            if frame.pts is not None:
                assert time_base is not None  # a demuxed stream that timestamps its frames has a time base
                time_s = float(frame.pts * time_base)
            else:  # rare (raw streams): assume the nominal rate
                time_s = last_time_s + 1.0 / (self.info.fps or 30.0)
            last_time_s = time_s
            if time_s < self.start_s - 1e-6:
                continue
            if self.end_s is not None and time_s >= self.end_s - 1e-6:
                break
            if kept % self.stride == 0:
                if orientation is None:
                    orientation = _orientation(frame)
                yield Frame(index, time_s, orientation.apply(frame.to_ndarray(format="rgb24")))
            kept += 1
        self._check_complete()

    def _decoded(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order; damaged packets are skipped and counted."""
        packets = self._container.demux(self._stream)
        damaged = 0
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as exc:
                self.warnings.append(f"stopped reading after {self.frames_decoded} frames: {exc}")
                yield from self._flush()
                break
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:
                damaged += 1
                continue
            for frame in decoded:
                if frame.is_corrupt:
                    damaged += 1
                    continue
                yield frame
        if damaged:
            self.warnings.append(f"skipped {damaged} damaged packet(s)/frame(s)")

    def _flush(self) -> Iterator[av.VideoFrame]:
        try:
            yield from self._stream.codec_context.decode(None)
        except av.error.FFmpegError:
            return

    def _check_complete(self) -> None:
        expected = self.info.num_frames
        if self.end_s is None and expected and self.frames_decoded < expected - 1:
            self.warnings.append(
                f"decoded {self.frames_decoded} of the {expected} frames the container announces (truncated file?)"
            )


def _orientation(frame: av.VideoFrame) -> Orientation:
    # PyAV's Frame stub types side_data as a TypedDict; it is a container of SideData
    for side_data in cast("SideDataContainer", frame.side_data):
        if "DISPLAYMATRIX" in str(side_data.type):
            return Orientation.from_display_matrix(bytes(side_data))
    return Orientation()
