"""Accuracy of any predictor on any dataset in the unified format, by named protocols (``hmr eval``).

The names below load on first use (PEP 562), so that ``hmr eval --help``, which reads only the
protocol table, does not import torch and the dataset reader.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "METRICS": "hmr.eval.evaluation",
    "EvalReport": "hmr.eval.evaluation",
    "evaluate": "hmr.eval.evaluation",
    "PROTOCOLS": "hmr.eval.protocols",
    "Protocol": "hmr.eval.protocols",
    "get_protocol": "hmr.eval.protocols",
    "format_comparison": "hmr.eval.report",
    "format_report": "hmr.eval.report",
    "read_report": "hmr.eval.report",
    "write_report": "hmr.eval.report",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'hmr.eval' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
