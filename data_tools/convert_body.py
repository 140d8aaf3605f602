"""``hmr-data convert-body``: new label versions in another body model, fitted on the skin.

For every stored person with SMPL / SMPL-X parameters, the source mesh is posed in the camera
frame and the target model (SKEL or Anny, or SMPL-X for SMPL sources) is fitted to it. The
result is written as a label version (``labels/<version>/<shard>.parquet``) joined on
``instance_id``; the images and base labels are not touched. Shards whose version part exists are
skipped, so a rerun continues. Fits whose mean vertex error (for Anny, which has no vertex
correspondence: the symmetric surface distance) exceeds the tolerance are kept with
``has_params`` false and listed in the report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from hmr.body.dataset_bodies import POSE_SIZES, BodyBank, model_file
from hmr.data.labels import read_rows
from hmr.data.layout import find_datasets, parse_shard_stem
from hmr.data.manifest import write_manifest
from hmr.data.schema import PersonLabel
from hmr.data.writer import file_sha256, write_label_version
from hmr.errors import HmrError
from hmr.fit.skin_fit import TARGETS as SKIN_TARGETS
from hmr.fit.skin_fit import correspondence, fit_to_vertices, map_vertices, shape_from_rest
from hmr.fit.skin_fit_anny import ANNY_METHOD, AnnyTarget, fit_anny

TARGETS = {**SKIN_TARGETS, "anny": AnnyTarget}
SOURCES = {"skel": ("smpl", "smplx"), "smplx": ("smpl",), "anny": ("smpl", "smplx")}


@dataclass
class BodyConversionReport:
    target: str
    version: str
    fitted: int = 0
    parts_done_before: int = 0
    errors_mm: list[float] = field(default_factory=list)
    not_converged: list[tuple[str, float]] = field(default_factory=list)  # (instance_id, error mm)

    def summary(self) -> str:
        lines = [
            f"{self.version}: {self.fitted} persons fitted to {self.target}, "
            f"{len(self.not_converged)} did not converge, {self.parts_done_before} shard parts already done"
        ]
        if self.errors_mm:
            e = np.asarray(self.errors_mm)
            metric = "surface distance" if self.target == "anny" else "vertex error"
            lines.append(
                f"  mean {metric}: median {np.median(e):.1f} mm, 95th pct {np.percentile(e, 95):.1f} mm, "
                f"max {e.max():.1f} mm"
            )
        lines += [f"  not converged: {iid} ({err:.1f} mm)" for iid, err in self.not_converged[:20]]
        return "\n".join(lines)


def _stack(rows: list[dict[str, Any]], kind: str) -> dict[str, np.ndarray]:
    """Batch the flat stored parameters of ``rows``; absent blocks are zeros, no transl without has_transl."""
    params = [dict(r["params"]) for r in rows]
    sizes = {**POSE_SIZES[kind], "betas": int(rows[0]["num_betas"])}
    out = {}
    for name, size in sizes.items():
        out[name] = np.stack(
            [
                np.asarray(p[name], np.float64)
                if name in p and (name != "transl" or r["has_transl"])
                else np.zeros(size)
                for p, r in zip(params, rows)
            ]
        )
    return out


class _Fitter:
    """Caches target models and correspondences per (source kind, gender)."""

    def __init__(self, to: str, models_dir: str | None, device: str) -> None:
        self.to, self.device = to, device
        self.bank = BodyBank(models_dir)
        self._targets: dict[str, Any] = {}
        self._corr: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def target(self, gender: str):
        if gender not in self._targets:
            self._targets[gender] = TARGETS[self.to](self.bank.models_dir, gender, self.device)
        return self._targets[gender]

    def corr(self, kind: str, gender: str, num_betas: int, flat: bool) -> tuple[torch.Tensor, torch.Tensor]:
        key = (kind, gender, num_betas, flat)
        if key not in self._corr:
            zero = {"betas": np.zeros((1, num_betas))}
            source_rest = self.bank.forward(kind, gender, zero, flat)[0][0]
            faces = np.asarray(self.bank.model(kind, gender, num_betas, flat).faces, np.int64)
            reference = self.target(gender).rest_vertices()
            if self.to == "skel" and model_file(self.bank.models_dir, "smpl", "neutral").exists():
                # SKEL's skin has SMPL's topology, and SMPL's rest mesh is T-posed like SMPL-X's
                reference = self.bank.forward("smpl", "neutral", {"betas": np.zeros((1, 10))})[0][0]
            idx, weights = correspondence(source_rest, faces, reference)
            self._corr[key] = (torch.as_tensor(idx), torch.as_tensor(weights, dtype=torch.float32))
        return self._corr[key]

    def fit(self, rows: list[dict[str, Any]], iters: int) -> tuple[list[dict[str, np.ndarray]], np.ndarray, str]:
        kind, gender, flat = rows[0]["body_model"], rows[0]["gender"], bool(rows[0]["flat_hand_mean"])
        src = _stack(rows, kind)
        verts, joints = self.bank.forward(kind, gender, src, flat)
        target = self.target(gender)
        if self.to == "anny":  # no vertex correspondence: joints first, then skin to skin
            faces = np.asarray(self.bank.model(kind, gender, src["betas"].shape[1], flat).faces, np.int64)
            params, err = fit_anny(target, verts, faces, joints, src["global_orient"], iters)
            return [target.label_params(params, i) for i in range(len(rows))], err, target.gender
        corr = self.corr(kind, gender, src["betas"].shape[1], flat)
        rest_src = {k: v for k, v in src.items() if k in ("betas", "expression")}
        rest, _ = self.bank.forward(kind, gender, rest_src, flat)
        init = target.init_params(src)
        init["betas"] = shape_from_rest(target, map_vertices(torch.as_tensor(rest, dtype=torch.float32), corr))
        params, err = fit_to_vertices(
            target, map_vertices(torch.as_tensor(verts, dtype=torch.float32), corr), init, iters
        )
        return [target.label_params(params, i) for i in range(len(rows))], err, target.gender


def convert_body(
    root: str | Path,
    to: str,
    version: str | None = None,
    datasets: Sequence[str] = (),
    splits: Sequence[str] = (),
    models_dir: str | None = None,
    device: str = "cpu",
    iters: int = 60,
    batch_size: int = 64,
    tolerance_mm: float = 10.0,
    quiet: bool = False,
) -> BodyConversionReport:
    """Fit ``to`` to every SMPL / SMPL-X person under ``root`` and write label version ``version``."""
    if to not in TARGETS:
        raise HmrError(f"convert-body --to {to} is not supported; choose from {', '.join(TARGETS)}")
    version = version or f"{to}-fit-v1"
    report = BodyConversionReport(to, version)
    fitter = _Fitter(to, models_dir, device)
    layouts = [lay for lay in find_datasets(root) if not datasets or lay.dataset in datasets]
    for layout in layouts:
        stems = [s for s in layout.stems() if not splits or parse_shard_stem(s)[0] in splits]
        for stem in tqdm(stems, desc=f"{layout.dataset} -> {to}", unit="shard", disable=quiet):
            if layout.label_part(stem, version).exists():
                report.parts_done_before += 1
                continue
            rows = [
                r for r in read_rows(layout, stem) if r["has_params"] and r["body_model"] in SOURCES[to] and r["params"]
            ]
            groups = defaultdict(list)
            for r in rows:
                groups[(r["body_model"], r["gender"], r["num_betas"], r["flat_hand_mean"])].append(r)
            out = []
            for group in groups.values():
                for i in range(0, len(group), batch_size):
                    chunk = group[i : i + batch_size]
                    labels, errors, gender = fitter.fit(chunk, iters)
                    for row, params, err in zip(chunk, labels, errors):
                        ok = bool(err <= tolerance_mm)
                        label = PersonLabel(
                            body_model=to,
                            gender=gender,
                            num_betas=0 if to == "anny" else 10,
                            flat_hand_mean=True,
                            params=params,
                            has_params=ok,
                            has_betas=ok,
                            has_transl=row["has_transl"],
                            pgt_source=f"{row['body_model']}-to-{to}-fit",
                            pgt_version=version,
                            fit_error_mm=float(err),
                        )
                        out.append({"instance_id": row["instance_id"], **label.body_record()})
                        report.fitted += 1
                        report.errors_mm.append(float(err))
                        if not ok:
                            report.not_converged.append((row["instance_id"], float(err)))
            write_label_version(layout, stem, version, out)
        files = {t.model_path.name: file_sha256(t.model_path) for t in fitter._targets.values()}
        write_manifest(
            layout,
            label_version_info={
                version: {
                    "target_body_model": to,
                    "iters": iters,
                    "method": ANNY_METHOD if to == "anny" else "L-BFGS on corresponding skin vertices",
                    "tolerance_mm": tolerance_mm,
                    "not_converged": len(report.not_converged),
                    "model_files": files,
                }
            },
        )
    return report
