"""The hmr web demo: a photo, a video or the webcam in; bodies, a 3D scene and files out.

Start it with ``hmr demo [--host --port --share --checkpoint ...]`` or ``python demo/app.py`` (same
options). Tests and other programs build it with :func:`build_app` and start it with
:func:`launch_app`. The page needs nothing from the internet: Gradio's front end is bundled, the
theme uses the system's fonts and analytics are off.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the checkout's `demo` and `hmr` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read when gradio is imported

import gradio as gr  # noqa: E402
from PIL import UnidentifiedImageError  # noqa: E402

from demo.handlers import ERROR_TITLE, DemoHandlers  # noqa: E402
from demo.models import AUTO_BODY, BACKENDS, DemoConfig  # noqa: E402
from demo.outputs import TABLE_HEADERS, OutputStore  # noqa: E402
from hmr.infer.predictor import resolve_device  # noqa: E402

#: Gradio's default theme pulls its fonts from Google; the system's own fonts keep the page offline.
THEME = gr.themes.Soft(
    font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
)
CSS = "#status-line p, #video-status p, #live-fps p { font-size: 1.05em; }"

INTRO = """# hmr: 3D human mesh recovery
Every person in a photo, a video or your webcam as a posed 3D body in the camera's frame (metres).
Pick the checkpoint, the body model and the camera in **Settings**."""
LIVE_NOTE = """Frames go from the browser to the server one at a time through Gradio's streaming queue, with the
model and camera chosen in **Settings**, shrunk to at most {max_side} px. The rate shown is what is
actually achieved: on a GPU that can be real time, **on a CPU expect a few frames per second** (the ONNX
backend is the fastest CPU path). Frames arriving while one is being processed are skipped, so the
picture stays current."""


class ImageUpload(gr.Image):
    """``gr.Image`` whose unreadable uploads become a message in the page rather than a bare "Error".

    ``is_template`` makes the front end draw it as a plain image component.
    """

    is_template = True

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            name = getattr(payload, "orig_name", None) or "the uploaded file"
            raise gr.Error(
                f"{name} is not an image that can be read; upload a photo (JPEG, PNG, WebP...)",
                title=ERROR_TITLE,
                duration=None,
                print_exception=False,
            ) from None


def build_app(config: DemoConfig, handlers: DemoHandlers | None = None) -> gr.Blocks:
    """The page and its events; queue and concurrency limits set, not yet launched."""
    handlers = handlers or DemoHandlers(config)
    limit = config.resolved_concurrency()
    default = config.default_choice
    # delete_cache: Gradio's copies of uploads and results older than 30 min go every 10 min, and all at exit
    with gr.Blocks(title="hmr: 3D human mesh recovery", analytics_enabled=False, delete_cache=(600, 1800)) as app:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Image", id="image"):
                with gr.Row():
                    with gr.Column():
                        image_in = ImageUpload(
                            label="Photo: upload, paste or take a webcam snapshot",
                            type="filepath",
                            sources=["upload", "clipboard", "webcam"],
                            elem_id="image-input",
                        )
                        run_image = gr.Button("Run", variant="primary", elem_id="run-image")
                        if config.examples:
                            gr.Examples(
                                [[str(p)] for p in config.examples],
                                inputs=[image_in],
                                label="Example photos (click one, then Run)",
                            )
                    with gr.Column():
                        overlay = gr.Image(
                            label="Bodies over the photo", interactive=False, format="jpeg", elem_id="overlay"
                        )
                        status = gr.Markdown(label="status", elem_id="status-line")
                with gr.Row():
                    model3d = gr.Model3D(
                        label="3D view: the bodies and the camera (.glb)", height=420, elem_id="model3d"
                    )
                    with gr.Column():
                        table = gr.Dataframe(
                            headers=TABLE_HEADERS, label="Persons", interactive=False, elem_id="persons"
                        )
                        files = gr.File(
                            label="Downloads: .npz (all parameters), .glb (scene), .obj (one per person)",
                            file_count="multiple",
                            interactive=False,
                            elem_id="downloads",
                        )
            with gr.Tab("Video", id="video"):
                with gr.Row():
                    with gr.Column():
                        video_in = gr.Video(label="Video", sources=["upload"], elem_id="video-input")
                        stride = gr.Slider(1, 10, value=1, step=1, label="Process every N-th frame")
                        run_video = gr.Button("Process", variant="primary", elem_id="run-video")
                        gr.Markdown(f"At most the first {config.max_video_s:g} s of a video are processed.")
                    with gr.Column():
                        video_out = gr.Video(label="Bodies over the video", interactive=False, elem_id="video-output")
                        tracks = gr.File(
                            label="Tracks (.npz): every person's id and parameters per frame",
                            interactive=False,
                            elem_id="tracks",
                        )
                        video_status = gr.Markdown(label="status", elem_id="video-status")
            with gr.Tab("Live", id="live"):
                gr.Markdown(LIVE_NOTE.format(max_side=config.live_max_side))
                with gr.Row():
                    webcam = gr.Image(
                        label="Webcam", sources=["webcam"], streaming=True, type="numpy", elem_id="webcam"
                    )
                    live_out = gr.Image(label="Bodies, live", interactive=False, elem_id="live-output")
                live_fps = gr.Markdown(label="status", elem_id="live-fps")
                live_state = gr.State({})
            with gr.Tab("Settings", id="settings"):
                with gr.Row():
                    checkpoint = gr.Dropdown(
                        config.checkpoint_choices(),
                        value=default.checkpoint,
                        label="Checkpoint (offered by whoever started the server)",
                        elem_id="checkpoint",
                    )
                    body_model = gr.Dropdown(
                        config.body_model_choices(),
                        value=AUTO_BODY,
                        label="Body model (Anny always; SMPL-X, SMPL, SKEL when their files are installed)",
                        elem_id="body-model",
                    )
                    backend = gr.Radio(
                        list(BACKENDS),
                        value=default.backend,
                        label="Backend (ONNX needs an .onnx checkpoint from `hmr export onnx`)",
                        elem_id="backend",
                    )
                with gr.Row():
                    det_thresh = gr.Slider(0.05, 0.95, value=0.3, step=0.05, label="Detection threshold")
                    nms_kernel = gr.Slider(1, 9, value=3, step=2, label="NMS kernel (odd, in tokens)")
                with gr.Row():
                    fov = gr.Slider(20, 120, value=60, step=1, label="Field of view across the longer side (deg)")
                    intrinsics = gr.Textbox(
                        "",
                        label="Or intrinsics fx, fy, cx, cy in pixels (overrides the field of view)",
                        placeholder="e.g. 1200, 1200, 960, 540",
                    )
                gr.Markdown(
                    f"Requests run {limit} at a time per tab; up to {config.queue_size} wait in the queue. "
                    f"Device: `{resolve_device(config.device)}`. The last {config.cache_size} models "
                    "used stay loaded.",
                    elem_id="server-note",
                )
        settings = [checkpoint, body_model, backend, det_thresh, nms_kernel, fov, intrinsics]
        run_image.click(
            handlers.run_image,
            [image_in, *settings],
            [overlay, model3d, files, table, status],
            api_name="predict_image",
            concurrency_limit=limit,
            concurrency_id="image",
        )
        run_video.click(
            handlers.run_video,
            [video_in, stride, *settings],
            [video_out, tracks, video_status],
            api_name="predict_video",
            concurrency_limit=1,
            concurrency_id="video",
        )
        webcam.stream(
            handlers.live_frame,
            [webcam, live_state, *settings],
            [live_out, live_fps, live_state],
            stream_every=0.1,
            time_limit=600,
            concurrency_limit=limit,
            concurrency_id="live",
            show_progress="hidden",
            api_name="live_frame",
        )
    app.queue(max_size=config.queue_size, default_concurrency_limit=limit)
    return app


def launch_app(
    app: gr.Blocks,
    config: DemoConfig,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    block: bool = True,
    quiet: bool = False,
):
    """Start the server with everything that keeps it offline and safe; returns Gradio's
    ``(fastapi app, local url, share url)`` once it serves (``block=False``) or when it stops."""
    allowed = sorted({str(p.parent) for p in config.examples})
    return app.launch(
        server_name=host,
        server_port=port,
        share=share,
        prevent_thread_lock=not block,
        theme=THEME,
        css=CSS,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        show_error=False,
        allowed_paths=allowed,
        max_file_size=config.max_upload,
        quiet=quiet,
        footer_links=["api", "settings"],
    )


def serve(
    config: DemoConfig, host: str = "127.0.0.1", port: int | None = None, share: bool = False, quiet: bool = False
) -> None:
    """Build, launch and block until the server stops (Ctrl-C, SIGTERM); then remove the demo's files."""
    store = OutputStore()
    # Uploads and Gradio's copies of results live in the demo's own folder too, so they go with it at
    # exit (Gradio's own clean-up only runs if its server thread finishes within 5 s).
    os.environ.setdefault("GRADIO_TEMP_DIR", str(store.root / "gradio"))
    handlers = DemoHandlers(config, store=store)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's start-up self-checks are not news
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` / `docker stop` shut down like Ctrl-C
    try:
        launch_app(build_app(config, handlers), config, host, port, share, block=True, quiet=quiet)
    finally:
        handlers.store.close()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """``python demo/app.py [options]`` is ``hmr demo [options]``."""
    from hmr.cli.main import main as hmr_main

    return hmr_main(["demo", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
