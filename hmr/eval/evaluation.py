"""``hmr.eval.evaluate``: one protocol over one dataset and one set of predictions -> an EvalReport.

Per image: ground-truth people are posed from their labels (:mod:`.ground_truth`), predictions
and people are matched on 2D joint error (:mod:`.matching`), and every matched pair is measured
(:mod:`.metrics`) on the joints both body models provide (:mod:`.joints`). The means are over
matched pairs; precision, recall and F1 over the whole set; NMJE / NMVE divide by F1 where the
protocol is multi-person, so a method cannot gain by dropping hard people.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from hmr.body.dataset_bodies import resolve_models_dir
from hmr.body.joint_names import joint_names
from hmr.camera import project
from hmr.data.reader import IndexedDataset
from hmr.errors import HmrError
from hmr.eval import metrics
from hmr.eval.conversion import MeshConverter
from hmr.eval.ground_truth import GroundTruth, GroundTruthPerson
from hmr.eval.joints import LSP14, LSP14_FROM_H36M, JointSelection, root_point, select_joints
from hmr.eval.matching import DetectionCounts, match_people
from hmr.eval.predictions import PredictionFolder, cached_predictions
from hmr.eval.protocols import DEFAULT_PROTOCOL, Protocol, get_protocol
from hmr.eval.smplx_regions import SmplxRegions

#: per-person metrics, in the order reports print them
METRICS = (
    "mpjpe_mm", "pa_mpjpe_mm", "pve_mm", "pa_pve_mm", "root_depth_mm", "root_depth_rel", "reproj_px",
    "pve_hands_mm", "pa_pve_hands_mm", "pve_face_mm", "pa_pve_face_mm",
)  # fmt: skip


@dataclass
class EvalReport:
    """What ``hmr eval`` writes: metrics in millimetres (root_depth_rel a fraction, reproj_px pixels)."""

    protocol: dict[str, Any]
    dataset: str
    split: str | None
    predictor: str
    images: int = 0
    people: int = 0
    predictions: int = 0
    matched: int = 0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    per_image: list[dict[str, Any]] = field(default_factory=list)


def default_protocol(dataset_dir: Path) -> str:
    """The protocol of the one dataset under ``dataset_dir`` (by its hmr-data name)."""
    names = sorted(p.parent.name for p in Path(dataset_dir).glob("*/manifest.json"))
    matches = {DEFAULT_PROTOCOL[n] for n in names if n in DEFAULT_PROTOCOL}
    if len(matches) != 1:
        raise HmrError(
            f"cannot tell which protocol {dataset_dir} needs (datasets: {', '.join(names) or 'none'}); pass --protocol"
        )
    return matches.pop()


class _Measure:
    """Joint selection and per-pair metrics for one (prediction body, ground-truth body) pair."""

    def __init__(
        self,
        protocol: Protocol,
        pred_body: str,
        models_dir: Path,
        notes: list[str],
        regions: SmplxRegions | None,
        convert_body: bool = False,
    ) -> None:
        self.protocol, self.notes, self.regions = protocol, notes, regions
        gt_names, pred_names = joint_names(protocol.gt_body_model), joint_names(pred_body)
        self.same_body = pred_body == protocol.gt_body_model
        self.regressor: np.ndarray | None = None
        joint_set = protocol.joint_set
        if protocol.regressor:
            path = models_dir / protocol.regressor
            if path.exists() and self.same_body:
                regressor = np.load(path)
                if regressor.shape != (17, 6890):
                    raise HmrError(
                        f"{path} holds a {regressor.shape} array; the H36M regressor is (17, 6890) for SMPL vertices"
                    )
                self.regressor = regressor[list(LSP14_FROM_H36M)].astype(np.float64)
            else:
                why = f"{path} is missing" if not path.exists() else f"the prediction is {pred_body}, not SMPL"
                notes.append(
                    f"WARNING: {protocol.joint_set} needs the regressor {protocol.regressor} ({why}); measured on "
                    f"{protocol.fallback_joint_set} instead: NOT comparable with published {protocol.name} numbers"
                )
                joint_set = protocol.fallback_joint_set
        if self.regressor is not None:
            k = len(LSP14)
            self.selection = JointSelection(list(LSP14), np.arange(k), np.arange(k))
        else:
            self.selection = select_joints(joint_set, pred_names, gt_names, self.same_body)
            if self.selection.note:
                notes.append(f"{pred_body} prediction on {protocol.gt_body_model} ground truth: {self.selection.note}")
        self.mesh = self.same_body
        self.converter: MeshConverter | None = None
        if not self.same_body and convert_body:
            self.converter = MeshConverter(pred_body, protocol.gt_body_model, models_dir)
        elif not self.mesh:
            notes.append(
                f"mesh metrics skipped: {pred_body} and {protocol.gt_body_model} do not share a mesh "
                "(--convert-body refits them)"
            )

    def gt_joints(self, gt: GroundTruthPerson) -> np.ndarray:
        if self.regressor is not None:
            return self.regressor @ gt.vertices_m
        return gt.joints_m[self.selection.gt_index]

    def pred_joints(self, prediction: dict[str, Any], p: int) -> np.ndarray:
        if self.regressor is not None:
            return self.regressor @ prediction["vertices"][p].astype(np.float64)
        return prediction["joints_3d"][p, self.selection.pred_index].astype(np.float64)

    def pair(self, prediction: dict[str, Any], p: int, gt: GroundTruthPerson, K: np.ndarray) -> dict[str, float]:
        names, alignment = self.selection.names, self.protocol.alignment
        pred, true = self.pred_joints(prediction, p), self.gt_joints(gt)
        pred_root, gt_root = root_point(pred, names, alignment), root_point(true, names, alignment)
        depth_mm, depth_rel = metrics.root_depth_error(pred_root, gt_root)
        out = {
            "mpjpe_mm": metrics.mpjpe_mm(pred, true, pred_root, gt_root),
            "pa_mpjpe_mm": metrics.pa_mpjpe_mm(pred, true),
            "root_depth_mm": depth_mm,
            "root_depth_rel": depth_rel,
            "reproj_px": metrics.reprojection_px(project(pred, K), project(true, K)),
        }
        verts = prediction.get("vertices")
        converter = self.converter
        if converter is not None and verts is not None:
            if converter.side == "prediction":
                pv, gv = (
                    converter.refit(verts[p], prediction["joints_3d"][p], converter.prediction_orient(prediction, p)),
                    gt.vertices_m,
                )
            else:
                if gt.global_orient is None:
                    raise HmrError("--convert-body needs the ground truth's global_orient; these labels have none")
                pv, gv = verts[p].astype(np.float64), converter.refit(gt.vertices_m, gt.joints_m, gt.global_orient)
            out["pve_mm"] = metrics.mpjpe_mm(pv, gv, pred_root, gt_root)
            out["pa_pve_mm"] = metrics.pa_mpjpe_mm(pv, gv)
        elif self.mesh and verts is not None and verts.shape[1] == len(gt.vertices_m):
            pv = verts[p].astype(np.float64)
            out["pve_mm"] = metrics.mpjpe_mm(pv, gt.vertices_m, pred_root, gt_root)
            out["pa_pve_mm"] = metrics.pa_mpjpe_mm(pv, gt.vertices_m)
            if self.protocol.part_metrics and self.regions is not None:
                out.update(self._parts(pv, prediction["joints_3d"][p].astype(np.float64), gt))
        return out

    def _parts(self, pred_verts: np.ndarray, pred_joints: np.ndarray, gt: GroundTruthPerson) -> dict[str, float]:
        """Hands aligned at their wrists, face at the neck; each also after its own Procrustes (mm)."""
        assert self.regions is not None
        out = {}
        for group, regions in (("hands", ("left_hand", "right_hand")), ("face", ("face",))):
            errors, pa_errors, sizes = [], [], []
            for region in regions:
                idx, anchor = self.regions.vertices[region], self.regions.anchor_joint[region]
                if len(idx) == 0:
                    continue
                pred, true = pred_verts[idx], gt.vertices_m[idx]
                errors.append(metrics.mpjpe_mm(pred, true, pred_joints[anchor], gt.joints_m[anchor]))
                pa_errors.append(metrics.pa_mpjpe_mm(pred, true))
                sizes.append(len(idx))
            if sizes:
                out[f"pve_{group}_mm"] = float(np.average(errors, weights=sizes))
                out[f"pa_pve_{group}_mm"] = float(np.average(pa_errors, weights=sizes))
        return out

    def projected(self, prediction: dict[str, Any], gts: list[GroundTruthPerson], K: np.ndarray):
        """(P, K, 2) predicted and (G, K, 2) true 2D joints of the measured set, for matching."""
        count = len(self.selection.names)
        if self.regressor is not None:
            pred = np.stack([project(self.pred_joints(prediction, p), K) for p in range(len(prediction["scores"]))])
        else:
            pred = prediction["joints_2d"][:, self.selection.pred_index].astype(np.float64)
        pred = pred.reshape(-1, count, 2)
        true = np.stack([project(self.gt_joints(g), K) for g in gts]) if gts else np.zeros((0, count, 2))
        return pred, true


def evaluate(
    dataset_dir: str | Path,
    protocol: str | None = None,
    split: str | None = None,
    predictions_dir: str | Path | None = None,
    predictor: Any = None,
    predictor_description: str = "",
    cache_dir: str | Path | None = None,
    models_dir: str | Path | None = None,
    progress: bool = False,
    det_thresh: float = 0.3,
    limit: int | None = None,
    convert_body: bool = False,
) -> EvalReport:
    """Evaluate saved predictions (``predictions_dir``) or a :class:`hmr.Predictor` (cached in ``cache_dir``).

    ``limit``: only the first images of the dataset, for a quick look (the report counts them).
    ``convert_body``: refit predictions in another body model as the ground truth's, for PVE.
    """
    dataset_dir = Path(dataset_dir)
    proto = get_protocol(protocol or default_protocol(dataset_dir))
    split = split or proto.split
    data = IndexedDataset(dataset_dir, splits=[split] if split else None)
    keys = list(data.keys)[:limit]
    models = resolve_models_dir(models_dir)
    labelled = _first_labelled(data, len(keys))
    if labelled is not None:
        proto = proto.for_labels(labelled[1].body_model)
    report = EvalReport(proto.describe(), str(dataset_dir), split, predictor_description or "saved predictions")
    report.versions = _versions()
    gt_bodies = GroundTruth(proto, models)
    if labelled is None:
        raise HmrError(f"{dataset_dir} holds no labelled people in the evaluated images; evaluate another split")
    gt_bodies.check(labelled[1], labelled[0])
    unlabelled = 0
    if predictions_dir is not None:
        folder = PredictionFolder(predictions_dir, keys)
        pairs: Iterator[tuple[dict, dict]] = ((data[i], folder.get(k)) for i, k in enumerate(keys))
    elif predictor is not None:
        if cache_dir is None:
            raise HmrError("evaluating a predictor needs a cache folder for its predictions (--out)")
        pairs = cached_predictions(predictor, (data[i] for i in range(len(keys))), Path(cache_dir), det_thresh)
    else:
        raise HmrError("nothing to evaluate: pass saved predictions or a predictor")
    counts = DetectionCounts()
    per_pair: dict[str, list[float]] = {m: [] for m in METRICS}
    measures: dict[str, _Measure] = {}
    for sample, prediction in tqdm(pairs, total=len(keys), desc=f"eval {proto.name}", unit="img", disable=not progress):
        key = sample["image_key"]
        K = sample["K"].astype(np.float64)
        gts = gt_bodies.people(sample["persons"], key)
        unlabelled += len(sample["persons"]) - len(gts)
        body = prediction["body_model"]
        if body not in measures:
            measures[body] = _Measure(proto, body, models, report.notes, gt_bodies.regions, convert_body)
        measure = measures[body]
        pred_2d, gt_2d = measure.projected(prediction, gts, K)
        matched = match_people(pred_2d, gt_2d, iou_min=proto.iou_min)
        counts.add(len(pred_2d), len(gts), len(matched))
        row: dict[str, Any] = {"image_key": key, "people": len(gts), "predictions": len(pred_2d)}
        row["matched"] = len(matched)
        image_metrics: dict[str, list[float]] = {m: [] for m in METRICS}
        for p, g in matched:
            for name, value in measure.pair(prediction, p, gts[g], K).items():
                image_metrics[name].append(value)
                per_pair[name].append(value)
        row.update({m: float(np.mean(v)) if v else float("nan") for m, v in image_metrics.items()})
        report.per_image.append(row)
    report.notes += [m.converter.note() for m in measures.values() if m.converter is not None]
    if unlabelled:
        report.notes.append(
            f"{unlabelled} people without {proto.gt_body_model} parameters were left out "
            "(a prediction of one counts as a false positive)"
        )
    report.images, report.people = len(report.per_image), counts.matched + counts.missed
    report.predictions, report.matched = counts.matched + counts.false_positives, counts.matched
    report.precision, report.recall, report.f1 = counts.precision, counts.recall, counts.f1
    report.metrics = {m: float(np.mean(v)) for m, v in per_pair.items() if v}
    if proto.multi_person and report.f1 > 0:
        if "mpjpe_mm" in report.metrics:
            report.metrics["nmje_mm"] = report.metrics["mpjpe_mm"] / report.f1
        if "pve_mm" in report.metrics:
            report.metrics["nmve_mm"] = report.metrics["pve_mm"] / report.f1
    return report


#: images looked at for a labelled person before the labels are judged missing
LABEL_PEEK_IMAGES = 50


def _first_labelled(data: IndexedDataset, count: int) -> tuple[str, Any] | None:
    """(image key, person) of the first person with body parameters, else of the first person at all."""
    first = None
    for i in range(min(count, LABEL_PEEK_IMAGES)):
        sample = data[i]
        for person in sample["persons"]:
            if person.has_params:
                return sample["image_key"], person
            first = first or (sample["image_key"], person)
    return first


def _versions() -> dict[str, str]:
    import platform

    import hmr

    return {"hmr": hmr.__version__, "numpy": np.__version__, "python": platform.python_version()}
