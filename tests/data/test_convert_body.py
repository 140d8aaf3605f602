"""SMPL-X -> SKEL label versions fitted on the skin, on the fake body models."""

import numpy as np
import pytest
from data_sources.bodies import random_params
from scipy.spatial import cKDTree

from data_tools.convert_body import convert_body
from hmr.body.dataset_bodies import BodyBank
from hmr.data import PersonLabel, SplitWriter
from hmr.data.layout import DatasetLayout
from hmr.data.manifest import write_manifest
from hmr.data.reader import IndexedDataset
from hmr.data.stats import all_stats
from hmr.data.verify import verify_dataset
from hmr.errors import HmrError
from hmr.fit.skin_fit import correspondence, map_vertices

pytestmark = pytest.mark.slow  # fits SKEL and SMPL-X to SMPL-family meshes


def _dataset_with_smplx_people(root, models_dir):
    """Three SMPL-X people in one image: two in poses SKEL can take, one with a shape it cannot."""
    rng = np.random.default_rng(5)
    params = random_params(rng, "smplx", 3)
    params["body_pose"] *= 0.3
    params["betas"][:, 2:] = 0.0
    params["betas"][2, 2:] = 25.0  # large random per-vertex offsets: no SKEL body has them
    params["expression"][:] = 0.0
    params["transl"] += [0.0, 0.0, 4.0]
    persons = [
        PersonLabel(
            body_model="smplx",
            gender="neutral",
            num_betas=10,
            params={k: v[i] for k, v in params.items()},
            has_params=True,
            has_betas=True,
            has_transl=True,
        )
        for i in range(3)
    ]
    persons.append(PersonLabel(kp2d=np.ones((17, 3)), kp2d_format="coco17"))  # 2D only: not fitted
    with SplitWriter(root, "toy", "train", "test") as writer:
        writer.add("img0", b"\xff\xd8fake", "jpg", np.eye(3), 64, 64, persons)
    write_manifest(DatasetLayout(root, "toy"))
    verts, _ = BodyBank(models_dir).forward("smplx", "neutral", params)
    return verts


def test_smplx_to_skel_fits_and_reports_non_converged(tmp_path, models_dir):
    source_verts = _dataset_with_smplx_people(tmp_path, models_dir)
    report = convert_body(tmp_path, "skel", models_dir=models_dir, iters=20, tolerance_mm=10.0, quiet=True)
    assert report.fitted == 3
    assert [iid for iid, _ in report.not_converged] == ["toy/train/img0#2"]
    persons = IndexedDataset(tmp_path, label_version="skel-fit-v1", decode=False).get("toy/train/img0")["persons"]
    assert [p.body_model for p in persons] == ["skel", "skel", "skel", ""]
    assert [p.has_params for p in persons[:3]] == [True, True, False]
    assert all(p.fit_error_mm <= 10.0 for p in persons[:2]) and persons[2].fit_error_mm > 10.0
    assert persons[0].params["poses"].shape == (46,) and persons[0].pgt_source == "smplx-to-skel-fit"
    # the stored SKEL labels really reproduce the SMPL-X skin (checked independently of the fitter)
    import torch

    from hmr.body import load_body_model

    skel = load_body_model("skel", models_dir, "male")
    bank = BodyBank(models_dir)
    model = bank.model("smplx", "neutral", 10)
    ref = bank.forward("smpl", "neutral", {"betas": np.zeros((1, 10))})[0][0]
    corr = correspondence(
        bank.forward("smplx", "neutral", {"betas": np.zeros((1, 10))})[0][0], np.asarray(model.faces, np.int64), ref
    )
    corr = (torch.as_tensor(corr[0]), torch.as_tensor(corr[1], dtype=torch.float32))
    target = map_vertices(torch.as_tensor(source_verts, dtype=torch.float32), corr).numpy()
    for i in range(2):
        p = persons[i].params
        with torch.no_grad():
            v = skel(poses=torch.as_tensor(p["poses"])[None], betas=torch.as_tensor(p["betas"])[None]).vertices[0]
        err_mm = np.linalg.norm(v.numpy() + p["transl"] - target[i], axis=1).mean() * 1000
        assert err_mm <= 10.0 and err_mm == pytest.approx(persons[i].fit_error_mm, abs=0.5)
    assert verify_dataset(tmp_path).ok
    assert all_stats(tmp_path)["toy"]["train"]["versions"]["skel-fit-v1"] == {"skel": 3}
    again = convert_body(tmp_path, "skel", models_dir=models_dir, quiet=True)  # resumes: nothing left to do
    assert again.fitted == 0 and again.parts_done_before == 1


def test_convert_body_rejects_unknown_target(tmp_path):
    with pytest.raises(HmrError, match="--to smplh is not supported"):
        convert_body(tmp_path, "smplh")


def test_smpl_to_smplx_label_version(tmp_path, models_dir):
    rng = np.random.default_rng(2)
    params = random_params(rng, "smpl", 2)
    params["body_pose"] *= 0.3
    params["betas"][:, 2:] = 0.0
    params["transl"] += [0.0, 0.0, 4.0]
    persons = [
        PersonLabel(
            body_model="smpl",
            gender="male",
            num_betas=10,
            params={k: v[i] for k, v in params.items()},
            has_params=True,
            has_betas=True,
            has_transl=True,
        )
        for i in range(2)
    ]
    with SplitWriter(tmp_path, "toy", "train", "test") as writer:
        writer.add("img0", b"\xff\xd8fake", "jpg", np.eye(3), 64, 64, persons)
    report = convert_body(tmp_path, "smplx", models_dir=models_dir, iters=20, quiet=True)
    assert report.fitted == 2 and not report.not_converged, report.summary()
    fitted = IndexedDataset(tmp_path, label_version="smplx-fit-v1", decode=False).get("toy/train/img0")["persons"]
    bank = BodyBank(models_dir)
    source, _ = bank.forward("smpl", "male", params)
    for i, person in enumerate(fitted):
        assert (person.body_model, person.gender, person.flat_hand_mean) == ("smplx", "male", True)
        verts, _ = bank.forward("smplx", "male", {k: v[None] for k, v in person.params.items()})
        # every SMPL vertex lies within a few mm of the fitted SMPL-X surface (checked vertex to vertex)
        gap_mm = cKDTree(verts[0]).query(source[i])[0].mean() * 1000
        assert gap_mm < 10.0 and person.fit_error_mm < 10.0
