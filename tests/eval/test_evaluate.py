"""``hmr.eval.evaluate`` end to end: known answers on a synthetic set (Anny) and on fake-SMPL datasets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from data_tools.synth import run_synth
from hmr.body.anny_body import AnnyBody
from hmr.body.dataset_bodies import BodyBank
from hmr.body.joint_names import joint_names
from hmr.camera import project
from hmr.data.layout import DatasetLayout
from hmr.data.manifest import write_manifest
from hmr.data.reader import IndexedDataset
from hmr.data.schema import PersonLabel
from hmr.data.writer import SplitWriter
from hmr.errors import HmrError
from hmr.eval import evaluate, format_report, read_report, write_report
from hmr.eval.ground_truth import GroundTruth
from hmr.eval.predictions import file_name
from hmr.eval.protocols import get_protocol
from hmr.synth.generate import SynthConfig
from hmr.synth.presets import default_preset


@pytest.fixture(scope="module")
def synth_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_eval")
    preset = default_preset(
        4, seed=9, config=SynthConfig(width=200, height=150, people=(2, 3)), images_per_shard=4, save_verts=True
    )
    run_synth(out, preset, quiet=True)
    return out / "synth"


def _gt_predictions(dataset_dir, protocol, models_dir=None, transform=None, drop=(), extra_far=False):
    """Predictions made from the ground truth itself, per image: {image_key: npz arrays}."""
    split = get_protocol(protocol).split
    data = IndexedDataset(dataset_dir, splits=[split] if split else None)
    persons = [p for i in range(len(data)) for p in data[i]["persons"]]
    labelled = next((p for p in persons if p.has_params), persons[0])
    gt = GroundTruth(get_protocol(protocol).for_labels(labelled.body_model), models_dir)
    out = {}
    for i in range(len(data)):
        s = data[i]
        people = gt.people(s["persons"], s["image_key"])
        joints = [p.joints_m for p in people]
        verts = [p.vertices_m for p in people]
        if transform is not None:
            joints, verts = zip(*[transform(j, v) for j, v in zip(joints, verts)]) if people else ([], [])
        keep = [k for k in range(len(people)) if (s["image_key"], k) not in drop]
        joints, verts = [joints[k] for k in keep], [verts[k] for k in keep]
        if extra_far and joints:
            far = joints[0] + np.array([40.0, 40.0, 0.0])  # 40 m to the side: far outside every box
            joints, verts = [*joints, far], [*verts, verts[0] + np.array([40.0, 40.0, 0.0])]
        K = s["K"].astype(np.float64)
        j = np.asarray(joints, np.float32).reshape(len(joints), -1, 3)
        out[s["image_key"]] = {
            "scores": np.ones(len(joints), np.float32),
            "joints_3d": j,
            "joints_2d": project(j.astype(np.float64), K).astype(np.float32).reshape(len(joints), -1, 2),
            "vertices": np.asarray(verts, np.float32).reshape(len(joints), -1, 3),
            "K": K.astype(np.float32),
            "body_model": np.asarray(gt.body_model),
        }
    return out


def _write(predictions, folder, by_name=False):
    folder.mkdir(parents=True, exist_ok=True)
    for key, arrays in predictions.items():
        stored = dict(arrays) if by_name else {**arrays, "image_key": np.asarray(key)}
        np.savez(folder / (file_name(key) if by_name else f"p{len(list(folder.iterdir()))}.npz"), **stored)
    return folder


def test_ground_truth_is_the_rendered_body(synth_set):
    """The evaluator's re-posed ground truth equals the meshes the generator drew (another skinning path)."""
    data = IndexedDataset(synth_set.parent)
    gt = GroundTruth(get_protocol("synth"))
    count = 0
    for i in range(len(data)):
        s = data[i]
        for label, person in zip(s["persons"], gt.people(s["persons"], s["image_key"])):
            assert np.abs(person.vertices_m - label.verts_cam).max() < 1e-3
            count += 1
    assert count >= 8


def test_predictions_equal_to_the_ground_truth_score_zero_and_f1_one(synth_set, tmp_path):
    folder = _write(_gt_predictions(synth_set.parent, "synth"), tmp_path / "pred")
    report = evaluate(synth_set.parent, predictions_dir=folder)
    assert report.protocol["name"] == "synth" and report.people >= 8
    assert report.f1 == 1.0 and report.precision == 1.0 and report.recall == 1.0
    for name in ("mpjpe_mm", "pa_mpjpe_mm", "pve_mm", "pa_pve_mm", "root_depth_mm", "reproj_px"):
        assert report.metrics[name] == pytest.approx(0.0, abs=1e-3), name
    assert report.metrics["nmje_mm"] == pytest.approx(0.0, abs=1e-3)
    json_path, csv_path = write_report(report, tmp_path / "report")
    assert read_report(json_path)["protocol"]["joint_set"] == "coco17"
    assert len(csv_path.read_text().splitlines()) == report.images + 1
    assert "protocol synth" in format_report(report).splitlines()[0]


def test_a_rigid_motion_and_scale_leave_pa_zero_and_mpjpe_as_computed_by_hand(synth_set, tmp_path):
    R = Rotation.from_rotvec([0.0, 0.4, 0.1]).as_matrix()
    scale = 1.1
    data = IndexedDataset(synth_set.parent)
    names = joint_names("anny")
    coco = [names.index(f"coco_{n}") for n in ("left_hip", "right_hip")]

    def about_root(j, v):
        root = j[coco].mean(0)
        return root + scale * (j - root) @ R.T, root + scale * (v - root) @ R.T

    folder = _write(_gt_predictions(synth_set.parent, "synth", transform=about_root), tmp_path / "pred")
    report = evaluate(synth_set.parent, predictions_dir=folder)
    assert report.metrics["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)
    assert report.metrics["pa_pve_mm"] == pytest.approx(0.0, abs=1e-3)
    # by hand: the 17 COCO joints relative to the mid-hip, moved by s R, against themselves
    gt = GroundTruth(get_protocol("synth"))
    errors = []
    sel = [names.index(f"coco_{n}") for n in _COCO17]
    for i in range(len(data)):
        s = data[i]
        for p in gt.people(s["persons"], s["image_key"]):
            d = p.joints_m[sel] - p.joints_m[coco].mean(0)
            errors.append(np.linalg.norm(scale * d @ R.T - d, axis=1).mean())
    assert report.metrics["mpjpe_mm"] == pytest.approx(1000 * np.mean(errors), rel=1e-4)
    assert report.metrics["root_depth_mm"] == pytest.approx(0.0, abs=1e-3)


_COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip


def test_dropped_people_lower_recall_and_an_extra_far_detection_lowers_precision(synth_set, tmp_path):
    keys = list(IndexedDataset(synth_set.parent).keys)
    drop = {(keys[0], 0), (keys[1], 1)}
    folder = _write(_gt_predictions(synth_set.parent, "synth", drop=drop, extra_far=True), tmp_path / "p", True)
    report = evaluate(synth_set.parent, predictions_dir=folder)
    n = report.people
    assert report.recall == pytest.approx((n - 2) / n)
    extra = len(keys)  # one far detection per image
    assert report.precision == pytest.approx((n - 2) / (n - 2 + extra))
    assert report.metrics["mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)


def test_bad_predictions_are_refused_in_one_line(synth_set, tmp_path):
    predictions = _gt_predictions(synth_set.parent, "synth")
    folder = _write(dict(list(predictions.items())[:2]), tmp_path / "partial", by_name=True)
    with pytest.raises(HmrError, match="have no prediction file"):
        evaluate(synth_set.parent, predictions_dir=folder)
    stray = _write(predictions, tmp_path / "stray", by_name=True)
    np.savez(stray / "other__image.npz", **next(iter(predictions.values())))
    with pytest.raises(HmrError, match="match no image of the dataset"):
        evaluate(synth_set.parent, predictions_dir=stray)
    with pytest.raises(HmrError, match="needs smpl body labels"):
        evaluate(synth_set.parent, "emdb1", split="train", predictions_dir=_write(predictions, tmp_path / "ok", True))


# --- SMPL protocols on fake SMPL files ---------------------------------------------------------


def _smpl_dataset(root, dataset, split, models_dir, people=2, images=2):
    bank = BodyBank(models_dir)
    rng = np.random.default_rng(0)
    writer = SplitWriter(root, dataset, split, "test-only")
    K = np.array([[500.0, 0, 160], [0, 500.0, 120], [0, 0, 1]], np.float32)
    for i in range(images):
        persons = []
        for k in range(people):
            params = {
                "global_orient": np.array([math.pi, 0, 0], np.float32) + rng.normal(0, 0.1, 3).astype(np.float32),
                "body_pose": rng.normal(0, 0.15, 69).astype(np.float32),
                "betas": rng.normal(0, 0.5, 10).astype(np.float32),
                "transl": np.array([-0.9 + 1.8 * k, 0.2, 6.0], np.float32),
            }
            verts, _ = bank.forward("smpl", "female", {k2: v[None] for k2, v in params.items()})
            uv = project(verts[0], K)
            persons.append(
                PersonLabel(
                    body_model="smpl",
                    gender="female",
                    num_betas=10,
                    params=params,
                    has_params=True,
                    has_betas=True,
                    has_transl=True,
                    bbox_xyxy=np.concatenate([uv.min(0), uv.max(0)]).astype(np.float32),
                )  # fmt: skip
            )
        from io import BytesIO

        from PIL import Image

        buf = BytesIO()
        Image.fromarray(np.zeros((240, 320, 3), np.uint8)).save(buf, format="JPEG")
        writer.add(f"{i:05d}", buf.getvalue(), "jpg", K, 320, 240, persons)
    writer.close()
    write_manifest(DatasetLayout(root, dataset), {"license_tag": "test-only", "source": {"version": "t", "path": ""}})
    return root


def _hip_moved(j, v, names_index, d=0.05):
    j = j.copy()
    j[names_index] += [d, 0, 0]
    return j, v


def test_alignment_points_differ_exactly_as_worked_out(fake_models_dir, tmp_path):
    root = _smpl_dataset(tmp_path / "data", "emdb", "emdb1", fake_models_dir)
    hip = joint_names("smpl").index("left_hip")
    preds = _gt_predictions(root, "emdb1", fake_models_dir, transform=lambda j, v: _hip_moved(j, v, hip))
    folder = _write(preds, tmp_path / "p")
    mid_hip = evaluate(root, protocol="emdb1", predictions_dir=folder, models_dir=fake_models_dir)
    # mid-hip alignment: moving one hip by 5 cm shifts the root by 2.5 cm, so every joint is 25 mm off
    assert mid_hip.metrics["mpjpe_mm"] == pytest.approx(25.0, abs=1e-3)
    pelvis = evaluate(root, protocol="agora", predictions_dir=folder, models_dir=fake_models_dir)
    # pelvis alignment: only the moved hip is off, by 50 mm, out of 24 joints
    assert pelvis.metrics["mpjpe_mm"] == pytest.approx(50.0 / 24, abs=1e-3)
    assert pelvis.f1 == 1.0 and "nmje_mm" in pelvis.metrics


def test_3dpw_uses_the_h36m_regressor_and_falls_back_to_24_joints_loudly(fake_models_dir, tmp_path):
    root = _smpl_dataset(tmp_path / "data", "3dpw", "test", fake_models_dir, people=1)
    folder = _write(_gt_predictions(root, "3dpw", fake_models_dir), tmp_path / "p")
    without = evaluate(root, predictions_dir=folder, models_dir=fake_models_dir)
    assert without.protocol["name"] == "3dpw"
    assert any("NOT comparable" in n and "smpl24" in n for n in without.notes)
    assert without.metrics["mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)
    models = tmp_path / "models"
    models.mkdir()
    for sub in ("smpl", "smplx"):
        (models / sub).symlink_to(fake_models_dir / sub)
    regressor = np.zeros((17, 6890))  # each joint the mean of 3 vertices spread over the body
    regressor[np.repeat(np.arange(17), 3), np.random.default_rng(1).choice(6890, 51, replace=False)] = 1 / 3
    np.save(models / "J_regressor_h36m.npy", regressor)
    # move the whole mesh 3 cm up: pelvis-centred LSP joints do not see it, the root depth neither
    preds = _gt_predictions(root, "3dpw", models, transform=lambda j, v: (j, v + [0, 0.03, 0]))
    with_regressor = evaluate(root, predictions_dir=_write(preds, tmp_path / "p2"), models_dir=models)
    assert not with_regressor.notes
    assert with_regressor.metrics["mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)
    assert with_regressor.metrics["pve_mm"] == pytest.approx(0.0, abs=1e-3)
    assert with_regressor.metrics["reproj_px"] > 1.0  # the 2D joints did move


def test_anny_predictions_on_smpl_ground_truth_use_the_shared_joints_and_skip_meshes(fake_models_dir, tmp_path):
    root = _smpl_dataset(tmp_path / "data", "emdb", "emdb1", fake_models_dir, people=1, images=1)
    key, arrays = next(iter(_gt_predictions(root, "emdb1", fake_models_dir).items()))
    names_smpl, names_anny = joint_names("smpl"), joint_names("anny")
    shared = [f"{s}_{j}" for j in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist") for s in ("left", "right")]
    joints = np.full((1, len(names_anny), 3), 9.0, np.float32)  # anything not shared is far off
    for neutral in shared:
        joints[0, names_anny.index(f"coco_{neutral}")] = arrays["joints_3d"][0, names_smpl.index(neutral)]
    joints[0, names_anny.index("head")] = arrays["joints_3d"][0, names_smpl.index("head")]
    K = arrays["K"].astype(np.float64)
    pred = {
        **arrays,
        "body_model": np.asarray("anny"),
        "joints_3d": joints,
        "joints_2d": project(joints.astype(np.float64), K).astype(np.float32),
        "vertices": np.zeros((1, 13718, 3), np.float32),
    }
    folder = tmp_path / "p"
    folder.mkdir()
    np.savez(folder / file_name(key), **pred)
    report = evaluate(root, predictions_dir=folder, models_dir=fake_models_dir)
    assert any("13 of 24 smpl24 joints" in n for n in report.notes)
    assert any("mesh metrics skipped" in n for n in report.notes)
    assert "pve_mm" not in report.metrics and report.f1 == 1.0
    assert report.metrics["mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)


def test_joint_names_known_without_files_are_the_adapters_own(fake_models_dir):
    from hmr.body import load_body_model

    assert AnnyBody().joint_names == joint_names("anny")
    for name in ("smpl", "smplx"):
        assert load_body_model(name, models_dir=fake_models_dir).joint_names == joint_names(name)


def test_missing_body_model_files_are_named_in_one_line(fake_models_dir, tmp_path):
    root = _smpl_dataset(tmp_path / "data", "emdb", "emdb1", fake_models_dir, people=1, images=1)
    folder = _write(_gt_predictions(root, "emdb1", fake_models_dir), tmp_path / "p")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HmrError) as err:
        evaluate(root, predictions_dir=folder, models_dir=tmp_path / "empty")
    assert "SMPL_FEMALE.pkl is missing" in str(err.value) and "--models-dir" in str(err.value)
    assert "\n" not in str(err.value)


def test_convert_body_refits_smplx_predictions_as_anny_for_mesh_metrics(fake_models_dir, tmp_path):
    out = tmp_path / "set"
    preset = default_preset(1, seed=5, config=SynthConfig(width=200, height=150, people=(1, 1)), images_per_shard=1)
    run_synth(out, preset, quiet=True)
    sample = IndexedDataset(out)[0]
    person = GroundTruth(get_protocol("synth")).people(sample["persons"], sample["image_key"])[0]
    names = joint_names("anny")
    mid_hip = person.joints_m[[names.index("coco_left_hip"), names.index("coco_right_hip")]].mean(0)
    orient = sample["persons"][0].params["global_orient"].astype(np.float64)
    bank = BodyBank(fake_models_dir)
    verts, joints = bank.forward("smplx", "neutral", {"betas": np.zeros((1, 10)), "global_orient": orient[None]})
    shift = mid_hip - joints[0, 0]
    verts, joints = verts + shift, joints + shift
    K = sample["K"].astype(np.float64)
    pred = {
        "scores": np.ones(1, np.float32),
        "vertices": verts.astype(np.float32),
        "joints_3d": joints.astype(np.float32),
        "joints_2d": project(joints, K).astype(np.float32),
        "rotvec": np.concatenate([orient[None, None], np.zeros((1, 54, 3))], 1).astype(np.float32),
        "K": K.astype(np.float32),
        "body_model": np.asarray("smplx"),
    }
    folder = tmp_path / "p"
    folder.mkdir()
    np.savez(folder / file_name(sample["image_key"]), **pred)
    plain = evaluate(out, predictions_dir=folder, models_dir=fake_models_dir)
    assert "pve_mm" not in plain.metrics and any("--convert-body refits" in n for n in plain.notes)
    converted = evaluate(out, predictions_dir=folder, models_dir=fake_models_dir, convert_body=True)
    assert converted.f1 == 1.0
    assert np.isfinite(converted.metrics["pve_mm"]) and converted.metrics["pve_mm"] > 0
    assert any("prediction meshes converted smplx -> anny" in n and "1 people" in n for n in converted.notes)


def _anny_prediction_on(arrays: dict, orient: np.ndarray) -> dict:
    """An Anny body standing where the SMPL ground truth of ``arrays`` stands, its COCO joints on SMPL's."""
    names_smpl, names_anny = joint_names("smpl"), joint_names("anny")
    body = AnnyBody()
    with torch.no_grad():
        out = body(global_orient=torch.as_tensor(orient, dtype=torch.float32)[None])
    verts, joints = out.vertices[0].double().numpy(), out.joints[0].double().numpy()
    shift = arrays["joints_3d"][0, 0].astype(np.float64) - joints[0]
    verts, joints = verts + shift, joints + shift
    for n in ("left_hip", "right_hip", "left_knee", "right_knee", "left_shoulder", "right_shoulder"):
        joints[names_anny.index(f"coco_{n}")] = arrays["joints_3d"][0, names_smpl.index(n)]
    K = arrays["K"].astype(np.float64)
    return {
        **arrays,
        "body_model": np.asarray("anny"),
        "vertices": verts[None].astype(np.float32),
        "joints_3d": joints[None].astype(np.float32),
        "joints_2d": project(joints, K)[None].astype(np.float32),
    }


def test_convert_body_refits_smpl_ground_truth_as_anny_for_anny_predictions(fake_models_dir, tmp_path):
    root = _smpl_dataset(tmp_path / "data", "emdb", "emdb1", fake_models_dir, people=1, images=1)
    key, arrays = next(iter(_gt_predictions(root, "emdb1", fake_models_dir).items()))
    orient = IndexedDataset(root).get(key)["persons"][0].params["global_orient"]
    folder = tmp_path / "p"
    folder.mkdir()
    np.savez(folder / file_name(key), **_anny_prediction_on(arrays, orient))
    report = evaluate(root, predictions_dir=folder, models_dir=fake_models_dir, convert_body=True)
    assert report.f1 == 1.0 and np.isfinite(report.metrics["pve_mm"])
    assert any("ground truth meshes converted smpl -> anny" in n for n in report.notes)


def test_convert_body_refuses_directions_it_has_no_fit_for(fake_models_dir, tmp_path):
    root = _smpl_dataset(tmp_path / "data", "emdb", "emdb1", fake_models_dir, people=1, images=1)
    key, arrays = next(iter(_gt_predictions(root, "emdb1", fake_models_dir).items()))
    folder = tmp_path / "p"
    folder.mkdir()
    names_smplx = joint_names("smplx")
    joints = np.zeros((1, len(names_smplx), 3), np.float32)
    joints[0, :22] = arrays["joints_3d"][0, :22]  # the 22 skeleton joints share names
    K = arrays["K"].astype(np.float64)
    np.savez(
        folder / file_name(key),
        **{**arrays, "body_model": np.asarray("smplx"), "joints_3d": joints,
           "joints_2d": project(joints.astype(np.float64), K).astype(np.float32)},
    )  # fmt: skip
    with pytest.raises(HmrError, match="cannot bring smplx predictions and smpl ground truth onto one mesh"):
        evaluate(root, predictions_dir=folder, models_dir=fake_models_dir, convert_body=True)


def test_gendered_protocols_pose_the_label_s_gender(fake_models_dir, tmp_path):
    root = _smpl_dataset(tmp_path / "data", "emdb", "emdb1", fake_models_dir, people=1, images=1)
    sample = IndexedDataset(root)[0]
    label = sample["persons"][0]
    params = {k: v[None].astype(np.float64) for k, v in label.params.items()}
    bank = BodyBank(fake_models_dir)
    female, _ = bank.forward("smpl", "female", params)
    neutral, _ = bank.forward("smpl", "neutral", params)
    assert np.abs(female - neutral).max() > 0.01  # the fake female body is 5 % smaller
    emdb = GroundTruth(get_protocol("emdb1"), fake_models_dir).people([label], sample["image_key"])[0]
    assert np.allclose(emdb.vertices_m, female[0])
    agora_smpl = get_protocol("agora").for_labels("smpl")
    assert agora_smpl.gt_gender == "gendered" and agora_smpl.joint_set == "smpl24"
