"""``hmr demo``: start the Gradio web demo (``demo/app.py`` of the source checkout) on this machine."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from hmr.cli.checks import check_at_least, check_between, check_device
from hmr.errors import HmrError

log = logging.getLogger("hmr")

#: the checkout holding ``demo/`` (the demo ships with the source, not inside the ``hmr`` package)
CHECKOUT = Path(__file__).resolve().parents[2]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="start the web demo (Gradio) in your browser",
        description="Serve the web demo: photos, videos and the webcam in; overlays, a 3D view and .npz/.glb/.obj "
        "files out. Listens on 127.0.0.1 unless --host says otherwise; needs no internet.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 to serve the local network)",
    )
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument(
        "--share",
        action="store_true",
        help="also open a temporary public link through Gradio's tunnel (needs internet)",
    )
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="PATH",
        help="a checkpoint to offer (repeat for several; the first is the default). Files in "
        "weights/ are offered too, and the open keypoint-fitting pipeline always",
    )
    parser.add_argument("--models-dir", help="folder with body-model files (default: $HMR_MODELS_DIR, then ./models)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument(
        "--concurrency", type=int, help="requests processed at once per tab (default: 1 on a CPU, 2 on a GPU)"
    )
    parser.add_argument("--queue-size", type=int, default=32, help="requests that may wait (default 32)")
    parser.add_argument(
        "--max-video-seconds", type=float, default=60.0, help="process at most this much of each video (default 60)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no start-up banner or info messages")
    parser.set_defaults(run=run)


def load_demo():
    """The ``demo`` package of the checkout, imported with analytics off."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise HmrError("the demo needs gradio: pip install 'hmr[demo]'") from None
    if not (CHECKOUT / "demo" / "app.py").is_file():
        raise HmrError("the demo ships with the source checkout (demo/app.py); run it from a clone of the repository")
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    return importlib.import_module("demo.app"), importlib.import_module("demo.models")


def run(args: argparse.Namespace) -> int:
    check_between(args.port, 1, 65535, "--port")
    check_at_least(args.concurrency, 1, "--concurrency")
    check_at_least(args.queue_size, 1, "--queue-size")
    check_between(args.max_video_seconds, 0, float("inf"), "--max-video-seconds", open_interval=True)
    check_device(args.device)  # an unusable --device fails here, not at the first request
    app, models = load_demo()
    config = models.DemoConfig(
        checkpoints=models.find_checkpoints(args.checkpoint),
        models_dir=args.models_dir,
        device=args.device,
        concurrency=args.concurrency,
        queue_size=args.queue_size,
        max_video_s=args.max_video_seconds,
        examples=models.find_examples(),
    )
    log.info("hmr demo: http://%s:%d (Ctrl-C to stop)", args.host, args.port)
    app.serve(config, host=args.host, port=args.port, share=args.share, quiet=args.quiet)
    return 0
