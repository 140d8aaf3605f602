"""``--convert-body``: a prediction's meshes refitted in the ground truth's body model, for mesh metrics.

PVE needs one topology. When the prediction is another body model than the ground truth, its
meshes are fitted with the same fit ``hmr-data convert-body`` uses (:mod:`hmr.fit.skin_fit_anny`),
and the report carries the fit's own surface error, since it bounds what the converted PVE can
say. The fit goes from SMPL / SMPL-X to Anny, so either side can be the one refitted: SMPL / SMPL-X
predictions on Anny ground truth (synthetic sets) are refitted as Anny, and Anny predictions on
SMPL / SMPL-X ground truth (3DPW, EMDB, AGORA, BEDLAM) are compared with the ground truth
refitted as Anny. The report says which side was converted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from hmr.body.dataset_bodies import BodyBank
from hmr.errors import HmrError

SOURCES = ("smplx", "smpl")  # what the fit starts from
TARGET = "anny"  # what it fits


class MeshConverter:
    """Refits one side of each matched pair as Anny (``side``: "prediction" or "ground truth")."""

    def __init__(self, pred_body: str, gt_body: str, models_dir: Path, iters: int = 60) -> None:
        if pred_body in SOURCES and gt_body == TARGET:
            self.side, source = "prediction", pred_body
        elif gt_body in SOURCES and pred_body == TARGET:
            self.side, source = "ground truth", gt_body
        else:
            raise HmrError(
                f"--convert-body cannot bring {pred_body} predictions and {gt_body} ground truth onto one mesh: "
                "hmr's convert-body fit goes from SMPL / SMPL-X to Anny; evaluate without --convert-body"
            )
        from hmr.fit.skin_fit_anny import AnnyTarget

        self.source, self.iters = source, iters
        self.target = AnnyTarget(models_dir, "neutral", "cpu")
        self.faces = np.asarray(BodyBank(models_dir).model(source, "neutral", 10).faces, np.int64)
        self.errors_mm: list[float] = []

    def refit(self, verts: np.ndarray, joints: np.ndarray, global_orient: np.ndarray) -> np.ndarray:
        """Anny vertices (V, 3) fitted to one SMPL / SMPL-X mesh (V_s, 3) with its joints and root rotation."""
        from hmr.fit.skin_fit_anny import fit_anny

        params, error = fit_anny(
            self.target,
            verts[None].astype(np.float64),
            self.faces,
            joints[None, :22].astype(np.float64),
            np.asarray(global_orient, np.float64).reshape(1, 3),
            self.iters,
        )
        with torch.no_grad():
            fitted, _ = self.target.pose(params)
        self.errors_mm.append(float(error[0]))
        return fitted[0].double().cpu().numpy()

    def prediction_orient(self, prediction: dict[str, Any], p: int) -> np.ndarray:
        if "param_global_orient" in prediction:
            return prediction["param_global_orient"][p]
        return prediction["rotvec"][p, 0]

    def note(self) -> str:
        finite = [e for e in self.errors_mm if np.isfinite(e)]
        mean = f"{np.mean(finite):.1f} mm" if finite else "n/a"
        failed = len(self.errors_mm) - len(finite)
        return (
            f"{self.side} meshes converted {self.source} -> {TARGET} by the convert-body fit for PVE "
            f"({len(self.errors_mm)} people, mean fit surface distance {mean}, {failed} failed)"
        )
