"""What each button of the page does: image, video and live-frame requests, and their error handling.

Every handler turns a user error (:class:`HmrError`) into a ``gr.Error`` shown in the page, and an
unexpected exception into a one-line message plus a traceback in the server log only: the page
never shows a stack trace and the server never stops for one bad request.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from demo.models import DemoConfig, LoadedPredictor, ModelChoice, PredictorCache, PredictorFactory, default_factory
from demo.outputs import OutputStore, person_rows, standing_heights_m, write_downloads
from hmr.errors import HmrError

log = logging.getLogger("hmr")

ERROR_TITLE = "Cannot process this input"
#: live frames/s is averaged over this many frames
FPS_WINDOW = 10
#: a pause longer than this restarts the frames/s average
FPS_RESET_S = 3.0


def show_user_errors(fn: Callable) -> Callable:
    """Run ``fn``; a user error becomes a message in the page, anything else a short one plus a log entry."""

    @functools.wraps(fn)
    def wrapper(*args, **kw):
        try:
            return fn(*args, **kw)
        except gr.Error:
            raise
        except HmrError as exc:
            raise gr.Error(str(exc), title=ERROR_TITLE, duration=None, print_exception=False) from None
        except Exception as exc:
            log.exception("demo: %s failed", fn.__name__)
            raise gr.Error(
                f"internal error ({type(exc).__name__}); the server log has the details",
                title="Something went wrong",
                duration=None,
                print_exception=False,
            ) from None
        finally:
            release_free_memory()

    return wrapper


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system after a request.

    A request allocates hundreds of MB of short-lived arrays on several worker threads; glibc keeps
    the freed pages in per-thread arenas, so without this a quiet server sits well above its
    resting size. Other C libraries simply lack the call.
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _load_libc()


def parse_intrinsics(text: str | None) -> np.ndarray | None:
    """``"fx, fy, cx, cy"`` in original-image pixels -> (3, 3) K; empty -> None (use the FOV)."""
    if not text or not text.strip():
        return None
    try:
        fx, fy, cx, cy = (float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        raise HmrError(f"intrinsics must be four numbers 'fx, fy, cx, cy' in pixels, got {text.strip()!r}") from None
    if fx <= 0 or fy <= 0:
        raise HmrError(f"focal lengths must be positive, got fx={fx}, fy={fy}")
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


@contextmanager
def _paths_as_names(path: Path) -> Iterator[None]:
    """Messages name an upload by its file name: its server-side folder means nothing to the user."""
    try:
        yield
    except HmrError as exc:
        raise HmrError(str(exc).replace(str(path), path.name)) from None


class DemoHandlers:
    """The server side of the page. The settings arrive as (checkpoint, body model, backend, detection
    threshold, NMS kernel, FOV degrees, intrinsics text), the order of the Settings tab."""

    def __init__(
        self, config: DemoConfig, factory: PredictorFactory = default_factory, store: OutputStore | None = None
    ) -> None:
        self.config = config
        self.cache = PredictorCache(config, factory)
        self.store = store or OutputStore()

    def _model(self, checkpoint: str, body_model: str, backend: str) -> LoadedPredictor:
        return self.cache.get(ModelChoice(str(checkpoint), str(body_model), str(backend)))

    @show_user_errors
    def run_image(
        self,
        image_path: str | None,
        checkpoint: str,
        body_model: str,
        backend: str,
        det_thresh: float,
        nms_kernel: float,
        fov_deg: float,
        intrinsics: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008  (gradio's way of asking for a progress bar)
    ):
        """-> overlay image, .glb for the 3D view, download files, person table, status line."""
        if not image_path:
            raise HmrError("no image yet: upload a photo, paste one or take a webcam snapshot, then press Run")
        with _paths_as_names(Path(image_path)):
            return self._process_image(
                Path(image_path),
                (checkpoint, body_model, backend),
                float(det_thresh),
                int(nms_kernel),
                float(fov_deg),
                parse_intrinsics(intrinsics),
                progress,
            )

    def _process_image(
        self,
        image_path: Path,
        model: tuple[str, str, str],
        det_thresh: float,
        nms_kernel: int,
        fov_deg: float,
        K: np.ndarray | None,
        progress: gr.Progress,
    ):
        started = time.perf_counter()
        progress(0.05, desc="loading the model")
        loaded = self._model(*model)
        progress(0.3, desc="finding people")
        (item,) = loaded.predict_files(
            [image_path], K=K, fov=None if K is not None else fov_deg, det_thresh=det_thresh, nms_kernel=nms_kernel
        )
        if item.error:
            raise HmrError(item.error)
        result = item.result
        progress(0.7, desc="drawing and writing files")
        overlay = result.render_overlay(item.display, item.K_display) if result.persons else item.display
        with self.store.request() as folder:
            glb, files = write_downloads(result, folder, image_path.stem or "image")
            rows = person_rows(result, standing_heights_m(loaded.predictor.body, result.persons))
        seconds = time.perf_counter() - started
        if result.persons:
            status = f"Found {len(result.persons)} person(s) in {seconds:.1f} s ({loaded.describe()})."
        else:
            message = result.message or "no person found; try a lower detection threshold in Settings"
            status = message[:1].upper() + message[1:].rstrip(".") + "."
            gr.Warning(status)
        return overlay, str(glb), [str(f) for f in files], rows, status

    @show_user_errors
    def run_video(
        self,
        video_path: str | None,
        stride: float,
        checkpoint: str,
        body_model: str,
        backend: str,
        det_thresh: float,
        nms_kernel: float,
        fov_deg: float,
        intrinsics: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008  (gradio's way of asking for a progress bar)
    ):
        """-> overlay video, tracks .npz, status line."""
        if not video_path:
            raise HmrError("no video yet: upload one, then press Process")
        source = Path(video_path)
        with _paths_as_names(source):
            return self._process_video(
                source,
                int(stride),
                (checkpoint, body_model, backend),
                float(det_thresh),
                int(nms_kernel),
                float(fov_deg),
                parse_intrinsics(intrinsics),
                progress,
            )

    def _process_video(
        self,
        source: Path,
        stride: int,
        model: tuple[str, str, str],
        det_thresh: float,
        nms_kernel: int,
        fov_deg: float,
        K: np.ndarray | None,
        progress: gr.Progress,
    ):
        from hmr.video.decode import probe
        from hmr.video.pipeline import VideoOptions, VideoPipeline

        options = VideoOptions(
            stride=max(1, stride), end_s=self.config.max_video_s or None, K=K, overwrite=True, progress=False
        )
        info = probe(source)
        total = info.frames_between(options.start_s, options.end_s, options.stride)
        cut = info.frames_between(options.start_s, None, options.stride) > total
        progress(0.0, desc="loading the model")
        loaded = self._model(*model)
        done = 0

        def predict_batch(frames, K_frames):
            nonlocal done
            results = loaded.predict(
                frames,
                K=K_frames,
                fov=None if K_frames is not None else fov_deg,
                det_thresh=det_thresh,
                nms_kernel=nms_kernel,
            )
            done += len(frames)
            progress((done, max(total, done)), desc="frames", unit="frames")
            return results

        kinds = {name: spec.kind for name, spec in loaded.predictor.param_specs.items()}
        pipeline = VideoPipeline(predict_batch, options, lambda image, result: result.render_overlay(image), kinds)
        with self.store.request() as folder:
            report = pipeline.run_one(source, folder, source.stem or "video")
        overlay_path, tracks_path = report.outputs
        status = (
            f"{report.frames} frames, {report.tracks} track(s), "
            f"{report.frames / max(report.seconds, 1e-9):.1f} frames/s ({loaded.describe()})"
        )
        if cut:
            status += f"; only the first {self.config.max_video_s:g} s were processed"
        status += "".join(f"; warning: {w}" for w in report.warnings)
        return str(overlay_path), str(tracks_path), status + "."

    def live_frame(
        self,
        frame: np.ndarray | None,
        state: dict | None,
        checkpoint: str,
        body_model: str,
        backend: str,
        det_thresh: float,
        nms_kernel: float,
        fov_deg: float,
        intrinsics: str,
    ):
        """One webcam frame -> (overlay, frames/s line, state). Errors go to the status line: a toast
        per frame would bury the page."""
        state = state if isinstance(state, dict) else {}
        if frame is None:
            return None, "Waiting for the webcam...", state
        try:
            return self._live_frame(
                frame, state, checkpoint, body_model, backend, det_thresh, nms_kernel, fov_deg, intrinsics
            )
        except HmrError as exc:
            return frame, f"Error: {exc}", state
        except Exception as exc:
            log.exception("demo: live frame failed")
            return frame, f"Error: internal error ({type(exc).__name__}); the server log has the details", state

    def _live_frame(self, frame, state, checkpoint, body_model, backend, det_thresh, nms_kernel, fov_deg, intrinsics):
        started = time.perf_counter()
        image, scale = _shrink(np.asarray(frame, np.uint8)[..., :3], self.config.live_max_side)
        K = parse_intrinsics(intrinsics)
        if K is not None:
            K[:2] *= scale  # the intrinsics were given for the webcam's own frame size
        loaded = self._model(checkpoint, body_model, backend)
        result = loaded.predict(
            image,
            K=K,
            fov=None if K is not None else float(fov_deg),
            det_thresh=float(det_thresh),
            nms_kernel=int(nms_kernel),
        )
        overlay = result.render_overlay(image)
        now = time.perf_counter()
        times = state.setdefault("times", deque(maxlen=FPS_WINDOW))
        if times and now - times[-1] > FPS_RESET_S:
            times.clear()  # the stream was paused: the gap is not part of the rate
        times.append(now)
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        return (
            overlay,
            (
                f"{fps:.1f} frames/s achieved; this frame {1000 * (now - started):.0f} ms, "
                f"{len(result.persons)} person(s), {image.shape[1]}x{image.shape[0]} px "
                f"({loaded.describe()})"
            ),
            state,
        )


def _shrink(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Downscale so the longer side is at most ``max_side``; returns the image and the scale used."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR)), scale
