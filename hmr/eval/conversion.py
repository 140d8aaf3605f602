"""``--convert-body``: a prediction's meshes refitted in the ground truth's body model, for mesh metrics.

PVE needs one topology. When the prediction is another body model than the ground truth, its
meshes are fitted with the same fit ``hmr-data convert-body`` uses (:mod:`hmr.fit.skin_fit_anny`),
and the report carries the fit's own surface error, since it bounds what the converted PVE can
say. Only the directions that fit exists for are offered: SMPL / SMPL-X meshes to Anny.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from hmr.body.dataset_bodies import BodyBank
from hmr.errors import HmrError

SUPPORTED = {("smplx", "anny"), ("smpl", "anny")}


class MeshConverter:
    def __init__(self, pred_body: str, gt_body: str, models_dir: Path, iters: int = 60) -> None:
        if (pred_body, gt_body) not in SUPPORTED:
            raise HmrError(
                f"--convert-body cannot refit {pred_body} meshes as {gt_body}: hmr's convert-body fit goes from "
                "SMPL / SMPL-X to Anny only; evaluate without --convert-body (joint metrics only)"
            )
        from hmr.fit.skin_fit_anny import AnnyTarget

        self.pred_body, self.gt_body, self.iters = pred_body, gt_body, iters
        self.target = AnnyTarget(models_dir, "neutral", "cpu")
        model = BodyBank(models_dir).model(pred_body, "neutral", 10)
        self.faces = np.asarray(model.faces, np.int64)
        self.errors_mm: list[float] = []

    def convert(self, prediction: dict[str, Any], p: int) -> np.ndarray:
        """Vertices (V_gt, 3) of the ground truth's body model fitted to prediction ``p``'s mesh."""
        from hmr.fit.skin_fit_anny import fit_anny

        verts = prediction["vertices"][p : p + 1].astype(np.float64)
        joints = prediction["joints_3d"][p : p + 1, :22].astype(np.float64)
        orient = (
            prediction["param_global_orient"] if "param_global_orient" in prediction else prediction["rotvec"][:, :1]
        )
        global_orient = np.asarray(orient[p], np.float64).reshape(1, 3)
        params, error = fit_anny(self.target, verts, self.faces, joints, global_orient, self.iters)
        with torch.no_grad():
            fitted, _ = self.target.pose(params)
        self.errors_mm.append(float(error[0]))
        return fitted[0].double().cpu().numpy()

    def note(self) -> str:
        finite = [e for e in self.errors_mm if np.isfinite(e)]
        mean = f"{np.mean(finite):.1f} mm" if finite else "n/a"
        failed = len(self.errors_mm) - len(finite)
        return (
            f"meshes converted {self.pred_body} -> {self.gt_body} by the convert-body fit for PVE "
            f"({len(self.errors_mm)} people, mean fit surface distance {mean}, {failed} failed)"
        )
