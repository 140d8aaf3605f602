"""Video: streamed decoding, persistent person tracks, temporal smoothing, overlay and track files.

``VideoPipeline(predict_batch, VideoOptions(...), render).run(paths, out_dir)`` is what ``hmr
video`` runs; the parts are usable alone. Nothing here imports torch, so the ONNX path stays light.
"""
from hmr.video.decode import VideoReader
from hmr.video.pipeline import VideoOptions, VideoPipeline, VideoReport
from hmr.video.smoothing import TrackSmoother
from hmr.video.tracking import Tracker, TrackerConfig
from hmr.video.tracks_io import load_tracks

__all__ = ["TrackSmoother", "Tracker", "TrackerConfig", "VideoOptions", "VideoPipeline", "VideoReader",
           "VideoReport", "load_tracks"]
