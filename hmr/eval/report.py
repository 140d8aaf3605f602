"""Writing, printing and comparing evaluation reports (``report.json`` + ``per_image.csv``)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hmr.atomic import atomic_path
from hmr.errors import HmrError
from hmr.eval.evaluation import METRICS, EvalReport

#: what each reported number is, for the printed table
LABELS = {
    "mpjpe_mm": "MPJPE (mm)",
    "pa_mpjpe_mm": "PA-MPJPE (mm)",
    "pve_mm": "PVE (mm)",
    "pa_pve_mm": "PA-PVE (mm)",
    "root_depth_mm": "root depth error (mm)",
    "root_depth_rel": "root depth error (fraction of depth)",
    "reproj_px": "2D reprojection error (px)",
    "pve_hands_mm": "PVE hands, at the wrists (mm)",
    "pa_pve_hands_mm": "PA-PVE hands (mm)",
    "pve_face_mm": "PVE face, at the neck (mm)",
    "pa_pve_face_mm": "PA-PVE face (mm)",
    "nmje_mm": "NMJE = MPJPE / F1 (mm)",
    "nmve_mm": "NMVE = PVE / F1 (mm)",
}


def write_report(report: EvalReport, out_dir: str | Path) -> tuple[Path, Path]:
    """``out_dir/report.json`` and ``out_dir/per_image.csv``, each written atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {k: v for k, v in asdict(report).items() if k != "per_image"}
    json_path, csv_path = out_dir / "report.json", out_dir / "per_image.csv"
    columns = ["image_key", "people", "predictions", "matched", *METRICS]
    with atomic_path(csv_path) as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for row in report.per_image:
                writer.writerow({c: row.get(c, "") for c in columns})
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(summary, indent=1, allow_nan=True))
    return json_path, csv_path


def read_report(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise HmrError(f"--compare {path}: not a readable report.json ({e})") from None


def _rows(summary: dict[str, Any]) -> dict[str, float]:
    rows = {
        "precision": summary["precision"],
        "recall": summary["recall"],
        "F1": summary["f1"],
    }
    rows.update({LABELS.get(k, k): v for k, v in summary["metrics"].items()})
    return rows


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}" if abs(value) < 2 else f"{value:.1f}"


def format_report(report: EvalReport | dict[str, Any]) -> str:
    """The protocol, then the numbers, as printed on stdout."""
    summary = asdict(report) if isinstance(report, EvalReport) else report
    p = summary["protocol"]
    lines = [
        f"protocol {p['name']}: {p['description']}",
        f"  joints {p['joint_set']}, aligned at {p['alignment']}, GT {p['gt_body_model']} ({p['gt_gender']}), "
        f"frames: {p['valid_frames']}, matching IoU >= {p['iou_min']}",
        f"dataset {summary['dataset']} (split {summary['split'] or 'all'}), predictor: {summary['predictor']}",
        f"images {summary['images']}, people {summary['people']}, predictions {summary['predictions']}, "
        f"matched {summary['matched']}",
    ]
    lines += [f"note: {n}" for n in summary["notes"]]
    width = max(len(k) for k in _rows(summary))
    lines += [f"  {k:<{width}}  {_fmt(v)}" for k, v in _rows(summary).items()]
    return "\n".join(lines)


def format_comparison(a: EvalReport | dict[str, Any], b: dict[str, Any]) -> str:
    """Two reports side by side with the differences (this run minus the other)."""
    left = asdict(a) if isinstance(a, EvalReport) else a
    if left["protocol"]["name"] != b["protocol"]["name"]:
        raise HmrError(
            f"cannot compare: this run used protocol {left['protocol']['name']}, the other {b['protocol']['name']}"
        )
    rows_a, rows_b = _rows(left), _rows(b)
    width = max(len(k) for k in {**rows_a, **rows_b})
    lines = [f"  {'':<{width}}  {'this run':>10}  {'other':>10}  {'difference':>10}"]
    for key in dict.fromkeys([*rows_a, *rows_b]):
        va, vb = rows_a.get(key, float("nan")), rows_b.get(key, float("nan"))
        lines.append(f"  {key:<{width}}  {_fmt(va):>10}  {_fmt(vb):>10}  {_fmt(va - vb):>10}")
    return "\n".join(lines)
