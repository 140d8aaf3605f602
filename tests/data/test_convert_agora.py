import numpy as np
import pytest
from data_sources.make_agora import H, W, make_agora

from data_tools import safe_pickle
from data_tools.convert_agora import Agora, kabsch
from data_tools.driver import run_conversion
from hmr.body.dataset_bodies import BodyBank
from hmr.camera import project, rotvec_to_matrix
from hmr.data.reader import IndexedDataset
from hmr.errors import HmrError


def test_agora_roundtrip_recovers_camera_frame_bodies(tmp_path, models_dir):
    expected = make_agora(tmp_path / "src", models_dir)
    report = run_conversion(Agora(), tmp_path / "src", tmp_path / "out", models_dir=models_dir, quiet=True)
    assert report.converted == 2 and not report.failed, report.failed
    ds = IndexedDataset(tmp_path / "out")
    bank = BodyBank(models_dir)
    n = 0
    for key, exp in expected.items():
        sample = ds.get(key)
        assert (sample["img_w"], sample["img_h"]) == (W, H)
        persons = sample["persons"]
        assert [p.has_params for p in persons] == [True, True, False]  # the kid keeps keypoints only
        assert persons[2].kp2d.shape == (127, 3) and not persons[2].params
        for person, e in zip(persons[:2], exp):
            assert person.flat_hand_mean is False and person.num_betas == 10
            params = {k: v.reshape(1, -1) for k, v in person.params.items()}
            verts, joints = bank.forward("smplx", person.gender, params, flat_hand_mean=False)
            assert np.abs(verts[0] - e["verts_cam"]).max() < 1e-3
            assert np.abs(project(joints[0], sample["K"]) - e["joints_2d"]).max() < 1.0
            assert np.abs(person.kp2d[:, :2] - e["joints_2d"]).max() < 1.0  # gt_joints_2d rescaled from 4K
            n += 1
    assert n == 4


def test_kabsch_recovers_rigid_motion():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(30, 3))
    R = rotvec_to_matrix(np.array([0.3, -2.0, 1.0]))
    R_est, t_est, residual = kabsch(src, src @ R.T + [1, 2, 3])
    np.testing.assert_allclose(R_est, R, atol=1e-10)
    np.testing.assert_allclose(t_est, [1, 2, 3], atol=1e-10)
    assert residual < 1e-9


def test_dataframe_pickle_allow_list(tmp_path):
    import pandas as pd

    pd.DataFrame({"a": [1, 2]}).to_pickle(tmp_path / "ok.pkl")
    assert safe_pickle.load_dataframe(tmp_path / "ok.pkl")["a"].tolist() == [1, 2]
    import pickle

    class Boom:
        def __reduce__(self):
            return (eval, ("1+1",))

    (tmp_path / "bad.pkl").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(HmrError, match="builtins.eval"):
        safe_pickle.load_dataframe(tmp_path / "bad.pkl")
