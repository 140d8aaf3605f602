"""Accuracy of any predictor on any dataset in the unified format, by named protocols (``hmr eval``)."""

from hmr.eval.evaluate import METRICS, EvalReport, evaluate
from hmr.eval.protocols import PROTOCOLS, Protocol, get_protocol
from hmr.eval.report import format_comparison, format_report, read_report, write_report

__all__ = [
    "METRICS",
    "PROTOCOLS",
    "EvalReport",
    "Protocol",
    "evaluate",
    "format_comparison",
    "format_report",
    "get_protocol",
    "read_report",
    "write_report",
]
