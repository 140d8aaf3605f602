"""Video: streamed decoding, persistent person tracks, temporal smoothing, overlay and track files.

``VideoPipeline(predict_batch, VideoOptions(...), render).run(paths, out_dir)`` is what ``hmr
video`` runs; the parts are usable alone. Nothing here imports torch, so the ONNX path stays light,
and the names below load on first use, so ``hmr video --help`` and its argument checks answer at once.
"""

import importlib

#: public name -> module that defines it
_EXPORTS = {
    "VideoReader": "decode",
    "VideoOptions": "pipeline",
    "VideoPipeline": "pipeline",
    "VideoReport": "pipeline",
    "TrackSmoother": "smoothing",
    "Tracker": "tracking",
    "TrackerConfig": "tracking",
    "load_tracks": "tracks_io",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hmr.video' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hmr.video.{_EXPORTS[name]}"), name)
