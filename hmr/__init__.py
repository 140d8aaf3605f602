"""hmr: 3D human mesh recovery. ``hmr.Predictor`` is the entry point; see README.md.

``hmr.ImageResult`` / ``hmr.Person`` are what every backend returns (numpy only).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from hmr.errors import HmrError
from hmr.result import ImageResult, Person

try:
    __version__ = version("hmr")  # one home for the version: pyproject.toml
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["HmrError", "ImageResult", "Person", "Predictor", "__version__"]


def __getattr__(name: str):
    # Lazy, so ``import hmr`` stays cheap and the ONNX path can run without importing torch.
    if name == "Predictor":
        from hmr.infer.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'hmr' has no attribute {name!r}")
