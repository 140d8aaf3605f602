"""hmr: 3D human mesh recovery. ``hmr.Predictor`` is the entry point; see README.md."""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["HmrError", "Predictor"]

from hmr.errors import HmrError


def __getattr__(name: str):
    # Lazy, so ``import hmr`` stays cheap and the ONNX path can run without importing torch.
    if name == "Predictor":
        from hmr.infer.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'hmr' has no attribute {name!r}")
