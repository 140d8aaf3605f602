"""Videos in, tracked and smoothed bodies out: decode -> batch -> network -> track -> smooth -> write.

The pipeline composes the parts of :mod:`hmr.video` around any ``predict_batch(frames, K)``
callable (a :class:`hmr.Predictor` with any backend, or a stand-in in tests). It is built for long
unattended batches: outputs appear atomically, a video whose outputs exist is skipped, and a
broken video is reported and skipped without ending the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hmr.errors import HmrError
from hmr.result import ImageResult
from hmr.video.decode import Frame, VideoReader, probe
from hmr.video.encode import h264_writer
from hmr.video.smoothing import DEFAULT_STRENGTH, TrackSmoother
from hmr.video.tracking import Tracker, TrackerConfig
from hmr.video.tracks_io import TrackRecorder

log = logging.getLogger("hmr")

#: frames (H, W, 3) uint8 RGB and the intrinsics of those frames (None: the predictor's default)
PredictBatch = Callable[[list[np.ndarray], "np.ndarray | None"], list[ImageResult]]
#: frame and its (tracked, smoothed) result -> overlay image of the same size
RenderFrame = Callable[[np.ndarray, ImageResult], np.ndarray]


@dataclass
class VideoOptions:
    """How each video is processed; mirrors the ``hmr video`` options."""

    batch_size: int = 4
    stride: int = 1
    start_s: float = 0.0
    end_s: float | None = None
    max_persons: int | None = None
    smooth: float = DEFAULT_STRENGTH
    K: np.ndarray | None = None  # (3, 3) intrinsics of the upright frames
    save_meshes: bool = False
    overwrite: bool = False
    progress: bool = True
    tracker: TrackerConfig = field(default_factory=TrackerConfig)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise HmrError(f"batch size must be >= 1, got {self.batch_size}")
        if self.stride < 1:
            raise HmrError(f"--stride must be >= 1, got {self.stride}")
        if self.start_s < 0:
            raise HmrError(f"--start must be >= 0 s, got {self.start_s}")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise HmrError(f"--end ({self.end_s}) must be after --start ({self.start_s})")
        if self.max_persons is not None and self.max_persons < 1:
            raise HmrError(f"--max-persons must be >= 1, got {self.max_persons}")
        if self.smooth < 0:
            raise HmrError(f"--smooth must be >= 0 (0 turns smoothing off), got {self.smooth}")


@dataclass
class VideoReport:
    """What happened to one video. ``status`` is ``done``, ``skipped`` (outputs existed) or ``failed``."""

    source: Path
    status: str
    outputs: list[Path] = field(default_factory=list)
    frames: int = 0
    tracks: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    error: str = ""


class VideoPipeline:
    """Runs videos through ``predict_batch``. ``render`` draws the overlay (None: no ``.mp4``);
    ``param_kinds`` tells the smoother how to treat each body-model parameter block."""

    def __init__(
        self,
        predict_batch: PredictBatch,
        options: VideoOptions | None = None,
        render: RenderFrame | None = None,
        param_kinds: Mapping[str, str] | None = None,
    ) -> None:
        self.predict_batch = predict_batch
        self.options = options or VideoOptions()
        self.render = render
        self.param_kinds = dict(param_kinds or {})

    def outputs(self, source: Path, out_dir: Path, stem: str | None = None) -> list[Path]:
        """``[<stem>.mp4,] <stem>_tracks.npz``; the tracks file comes last, written last."""
        stem = stem or source.stem
        paths = [out_dir / f"{stem}.mp4"] if self.render else []
        paths.append(out_dir / f"{stem}_tracks.npz")
        for path in paths:
            if path.resolve() == source.resolve():
                raise HmrError(f"{source}: the output would overwrite the input; choose another --out folder")
        return paths

    def run(
        self, sources: Sequence[Path], out_dir: str | Path, stems: Mapping[Path, str] | None = None
    ) -> list[VideoReport]:
        """Every video in turn; one that fails is reported and the batch goes on."""
        out_dir = Path(out_dir)
        stems = stems or {}
        totals = [self._estimated_frames(s, out_dir, stems.get(s)) for s in sources]
        reports = []
        with tqdm(
            total=sum(totals),
            unit="frame",
            desc="all videos",
            disable=not self.options.progress,
            position=0,
            dynamic_ncols=True,
        ) as overall:
            for index, source in enumerate(sources):
                reports.append(self._run_isolated(source, out_dir, stems.get(source), overall))
                behind = sum(totals[: index + 1]) - overall.n  # estimates are rough; failures stop early
                if behind > 0:
                    overall.update(behind)
        return reports

    def _run_isolated(self, source: Path, out_dir: Path, stem: str | None, overall: tqdm) -> VideoReport:
        started = time.perf_counter()
        try:
            report = self.run_one(source, out_dir, stem, overall)
        except HmrError as exc:
            report = VideoReport(source, "failed", error=str(exc))
        except Exception as exc:  # a bug or an unexpected library error: keep the traceback, go on
            log.exception("%s: failed", source)
            report = VideoReport(source, "failed", error=f"{type(exc).__name__}: {exc}")
        report.seconds = time.perf_counter() - started
        return report

    def run_one(
        self, source: str | Path, out_dir: str | Path, stem: str | None = None, overall: tqdm | None = None
    ) -> VideoReport:
        """Process one video; raises :class:`HmrError` when it cannot be read at all."""
        source, out_dir = Path(source), Path(out_dir)
        outputs = self.outputs(source, out_dir, stem)
        if not self.options.overwrite and all(p.exists() for p in outputs):
            return VideoReport(source, "skipped", outputs)
        opts = self.options
        overlay_path, tracks_path = (outputs[0], outputs[1]) if self.render else (None, outputs[0])
        with (
            VideoReader(source, opts.start_s, opts.end_s, opts.stride) as reader,
            TrackRecorder(out_dir, opts.save_meshes) as recorder,
        ):
            duration_s = reader.info.duration_s
            if duration_s > 0 and opts.start_s >= duration_s:
                raise HmrError(
                    f"{source}: --start {opts.start_s:g} s is past the end of the video ({duration_s:.2f} s long)"
                )
            writer_context = (
                h264_writer(overlay_path, reader.info.time_base, reader.info.fps) if overlay_path else nullcontext()
            )
            with (
                writer_context as writer,
                tqdm(
                    total=reader.expected_frames or None,
                    unit="frame",
                    desc=source.name,
                    leave=False,
                    position=1,
                    dynamic_ncols=True,
                    disable=not opts.progress,
                ) as bar,
            ):
                first = self._process(reader, recorder, writer, [bar] + ([overall] if overall else []))
                if first is None:
                    raise HmrError(
                        f"{source}: no frame could be decoded"
                        + (f" ({'; '.join(reader.warnings)})" if reader.warnings else "")
                    )
            recorder.write(tracks_path, self._meta(source, reader, recorder, first))
        return VideoReport(
            source, "done", outputs, recorder.num_frames, len(recorder.track_ids), warnings=list(reader.warnings)
        )

    def _process(self, reader: VideoReader, recorder: TrackRecorder, writer, bars: list[tqdm]) -> ImageResult | None:
        """The frame loop; returns the first frame's result (None when no frame was decoded)."""
        opts = self.options
        tracker = Tracker(opts.tracker)
        smoother = TrackSmoother(opts.smooth, self.param_kinds)
        first: ImageResult | None = None
        for batch in _batched(reader, opts.batch_size):
            results = self.predict_batch([frame.image for frame in batch], opts.K)
            if len(results) != len(batch):
                raise RuntimeError(f"predict_batch returned {len(results)} results for {len(batch)} frames")
            for frame, result in zip(batch, results):
                persons = result.persons
                if opts.max_persons is not None and len(persons) > opts.max_persons:
                    persons = sorted(persons, key=lambda p: -p.score)[: opts.max_persons]
                result = smoother.update(replace(result, persons=tracker.update(persons, frame.time_s)), frame.time_s)
                recorder.add_frame(frame.index, frame.time_s, result)
                if writer is not None:
                    assert self.render is not None  # an overlay writer is opened only with a renderer
                    writer.write(self.render(frame.image, result), frame.time_s)
                if first is None:
                    first = result
            for bar in bars:
                bar.update(len(batch))
        return first

    def _meta(
        self, source: Path, reader: VideoReader, recorder: TrackRecorder, first: ImageResult
    ) -> dict[str, np.ndarray]:
        meta = {
            "K": np.asarray(first.K, np.float64),
            "image_size": np.asarray(first.image_size, np.int64),
            "body_model": np.asarray(first.body_model),
            "fps": np.asarray(reader.info.fps, np.float64),
            "smooth": np.asarray(self.options.smooth, np.float64),
            "stride": np.asarray(self.options.stride),
            "source": np.asarray(str(source)),
        }
        if first.shape_names:
            meta["shape_names"] = np.asarray(first.shape_names)
        if self.render is not None:  # the overlay plays from 0 s: its time t is source time t + this
            meta["overlay_start_s"] = np.asarray(recorder.first_time_s, np.float64)
        return meta

    def _estimated_frames(self, source: Path, out_dir: Path, stem: str | None) -> int:
        """Frames the overall progress bar should expect from ``source`` (0 if it will be skipped)."""
        try:
            if not self.options.overwrite and all(p.exists() for p in self.outputs(source, out_dir, stem)):
                return 0
            return probe(source).frames_between(self.options.start_s, self.options.end_s, self.options.stride)
        except HmrError:
            return 0  # reported when its turn comes


def _batched(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
