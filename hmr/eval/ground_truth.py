"""Ground-truth bodies of a dataset's labels: posed meshes and joints in the camera frame.

Labels store body-model parameters (SMPL / SMPL-X for converted datasets, Anny for synthetic
ones); evaluation re-poses them with the same body model the dataset was fitted with, in the
gender the protocol asks for, so ground truth is exactly the dataset's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hmr.body.dataset_bodies import BodyBank, resolve_models_dir
from hmr.body.joint_names import joint_names
from hmr.data.schema import PersonLabel
from hmr.errors import HmrError
from hmr.eval.protocols import Protocol
from hmr.eval.smplx_regions import load_smplx_regions


@dataclass
class GroundTruthPerson:
    joints_m: np.ndarray  # (J, 3) camera frame, metres; names: GroundTruth.joint_names
    vertices_m: np.ndarray  # (V, 3) camera frame, metres
    global_orient: np.ndarray | None = None  # (3,) root rotation, camera frame, where the labels have it


class GroundTruth:
    """Poses the labelled people of a protocol's body model (built lazily, one body per gender)."""

    def __init__(self, protocol: Protocol, models_dir: str | Path | None = None) -> None:
        self.protocol = protocol
        self.body_model = protocol.gt_body_model
        self.joint_names = joint_names(self.body_model)
        self._bank = BodyBank(models_dir) if self.body_model in ("smpl", "smplx") else None
        self._anny: Any = None  # hmr.body.anny_body.AnnyBody, built on first use
        self.regions = None
        if protocol.gt_from == "vertices" or protocol.part_metrics:
            self.regions = load_smplx_regions(resolve_models_dir(models_dir))

    def usable(self, person: PersonLabel) -> bool:
        if self.protocol.gt_from == "vertices":
            return person.body_model == self.body_model and len(person.verts_cam) > 0
        return person.body_model == self.body_model and person.has_params

    def check(self, person: PersonLabel, image_key: str) -> None:
        if not self.usable(person):
            what = "meshes" if self.protocol.gt_from == "vertices" else "parameters"
            found = f"{person.body_model} {what}" if person.has_params and person.body_model else f"no {what}"
            raise HmrError(
                f"{image_key}: protocol {self.protocol.name} needs {self.body_model} body labels, the dataset has "
                f"{found}; choose the protocol of this dataset (--protocol) or add labels with hmr-data convert-body"
            )

    def people(self, persons: list[PersonLabel], image_key: str) -> list[GroundTruthPerson]:
        """Posed bodies of the people labelled in the protocol's body model (others are left out)."""
        persons = [p for p in persons if self.usable(p)]
        if not persons:
            return []
        if self.protocol.gt_from == "vertices":
            assert self.regions is not None
            regressor = self.regions.J_regressor
            for p in persons:
                if len(p.verts_cam) != regressor.shape[1]:
                    raise HmrError(
                        f"{image_key}: the stored mesh has {len(p.verts_cam)} vertices, SMPL-X {regressor.shape[1]}; "
                        f"protocol {self.protocol.name} needs SMPL-X meshes"
                    )
            return [
                GroundTruthPerson(regressor @ p.verts_cam.astype(np.float64), p.verts_cam.astype(np.float64))
                for p in persons
            ]
        if self.body_model == "anny":
            return self._anny_people(persons)
        return [self._smpl_person(p) for p in persons]

    def _smpl_person(self, person: PersonLabel) -> GroundTruthPerson:
        assert self._bank is not None
        gender = person.gender if self.protocol.gt_gender == "gendered" else "neutral"
        params = {k: np.asarray(v, np.float64)[None] for k, v in person.params.items()}
        vertices, joints = self._bank.forward(self.body_model, gender, params, person.flat_hand_mean)
        return GroundTruthPerson(joints[0], vertices[0], person.params.get("global_orient"))

    def _anny_people(self, persons: list[PersonLabel]) -> list[GroundTruthPerson]:
        from hmr.body.anny_body import AnnyBody

        if self._anny is None:
            self._anny = AnnyBody()
        body = self._anny
        batch = {}
        for name, spec in body.param_specs.items():
            if all(name in p.params for p in persons):
                batch[name] = torch.as_tensor(np.stack([p.params[name].reshape(spec.shape) for p in persons]))
        transl = np.stack([p.params.get("transl", np.zeros(3)) for p in persons]).astype(np.float64)
        with torch.no_grad():
            out = body(**batch)
        vertices = out.vertices.double().numpy() + transl[:, None]
        joints = out.joints.double().numpy() + transl[:, None]
        return [GroundTruthPerson(j, v) for j, v in zip(joints, vertices)]
