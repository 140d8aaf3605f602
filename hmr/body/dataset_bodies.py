"""SMPL and SMPL-X bodies exactly as the datasets define them (gender, number of betas, hands).

Converters and evaluation need the rest-pose pelvis for the root fix and posed meshes for boxes and checks, in
the configuration each dataset was fitted with (3DPW: gendered SMPL, 10 betas; BEDLAM: neutral
SMPL-X, 11 betas, flat hands). The ``smplx`` package builds these directly from the user's
model files, in float64 so conversions stay far below the 1 mm budget.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import torch

from hmr.errors import HmrError

MODEL_FILES = {
    "smpl": "smpl/SMPL_{G}.pkl",
    "smplx": "smplx/SMPLX_{G}.npz",
}
#: parameter names (as ``smplx`` takes them) and their length per body model, besides betas
POSE_SIZES = {
    "smpl": {"global_orient": 3, "body_pose": 69, "transl": 3},
    "smplx": {
        "global_orient": 3,
        "body_pose": 63,
        "left_hand_pose": 45,
        "right_hand_pose": 45,
        "jaw_pose": 3,
        "leye_pose": 3,
        "reye_pose": 3,
        "expression": 10,
        "transl": 3,
    },
}


def resolve_models_dir(models_dir: str | Path | None = None) -> Path:
    """``--models-dir``, then ``$HMR_MODELS_DIR``, then ``./models`` (the project-wide lookup order)."""
    return Path(models_dir or os.environ.get("HMR_MODELS_DIR") or "models")


def model_file(models_dir: Path, kind: str, gender: str) -> Path:
    if kind not in MODEL_FILES:
        raise HmrError(f"body model {kind!r} cannot be evaluated here; expected one of {sorted(MODEL_FILES)}")
    return models_dir / MODEL_FILES[kind].format(G=gender.upper())


class BodyBank:
    """Lazily built ``smplx`` models keyed by (kind, gender, num_betas, flat_hand_mean)."""

    def __init__(self, models_dir: str | Path | None = None) -> None:
        self.models_dir = resolve_models_dir(models_dir)
        self._models: dict[tuple, torch.nn.Module] = {}

    def model(self, kind: str, gender: str, num_betas: int, flat_hand_mean: bool = True) -> torch.nn.Module:
        key = (kind, gender, num_betas, flat_hand_mean)
        if key not in self._models:
            path = model_file(self.models_dir, kind, gender)
            if not path.exists():
                raise HmrError(
                    f"body model file {path} is missing; download {kind.upper()} ({gender}) from its "
                    "official site and pass --models-dir (or set HMR_MODELS_DIR)"
                )
            import smplx

            extra = (
                {"use_pca": False, "flat_hand_mean": flat_hand_mean, "num_expression_coeffs": 10}
                if kind == "smplx"
                else {}
            )
            with contextlib.redirect_stdout(io.StringIO()):  # smplx prints warnings about beta counts
                self._models[key] = smplx.create(
                    str(self.models_dir),
                    model_type=kind,
                    gender=gender,
                    num_betas=num_betas,
                    dtype=torch.float64,
                    **extra,
                ).eval()
        return self._models[key]

    def forward(
        self, kind: str, gender: str, params: dict[str, np.ndarray], flat_hand_mean: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posed (vertices (N, V, 3), joints (N, J, 3)) in float64; missing parameters are zero.

        ``params`` holds flat (N, D) arrays named as ``smplx`` names them; ``betas`` sets num_betas.
        """
        betas = np.asarray(params["betas"], np.float64)
        betas = betas.reshape(-1, betas.shape[-1]) if betas.ndim else betas.reshape(1, 1)
        n = betas.shape[0]
        model = self.model(kind, gender, betas.shape[1], flat_hand_mean)
        kwargs = {"betas": torch.from_numpy(betas)}
        for name, size in POSE_SIZES[kind].items():
            value = params.get(name)
            arr = np.zeros((n, size)) if value is None else np.asarray(value, np.float64).reshape(n, size)
            kwargs[name] = torch.from_numpy(arr)
        with torch.no_grad():
            out = model(**kwargs)
        return out.vertices.numpy(), out.joints.numpy()

    def rest_pelvis(
        self,
        kind: str,
        gender: str,
        betas: np.ndarray,
        expression: np.ndarray | None = None,
        flat_hand_mean: bool = True,
    ) -> np.ndarray:
        """Pelvis of the unposed, untranslated body, the pivot of global_orient. (N, B) -> (N, 3)"""
        params = {"betas": betas} if expression is None else {"betas": betas, "expression": expression}
        _, joints = self.forward(kind, gender, params, flat_hand_mean)
        return joints[:, 0]
