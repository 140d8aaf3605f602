"""ONNX export: a checkpoint becomes one self-describing ``.onnx`` file that runs without Python.

``export_onnx(checkpoint, "model.onnx")``, or :class:`OnnxExporter` to trace once and save several
precisions; the graph, its metadata and the reduced-precision variants
live in :mod:`hmr.export.graph`, :mod:`hmr.export.metadata` and :mod:`hmr.export.precision`.
"""

from hmr.export.onnx_export import OnnxExporter, export_onnx

__all__ = ["OnnxExporter", "export_onnx"]
