import numpy as np
from data_sources.checks import check_bodies
from data_sources.make_h36m import make_h36m

from data_tools.convert_h36m import Human36M
from data_tools.driver import run_conversion
from hmr.camera import project
from hmr.data.reader import IndexedDataset


def test_h36m_roundtrip_subject_splits(tmp_path, models_dir):
    expected = make_h36m(tmp_path / "src", models_dir)
    report = run_conversion(Human36M(), tmp_path / "src", tmp_path / "out", models_dir=models_dir, quiet=True)
    assert report.converted == 8 and not report.failed
    assert check_bodies(tmp_path / "out", expected, models_dir) == 8
    ds = IndexedDataset(tmp_path / "out")
    sample = ds.get("h36m/test/s_09_act_02_subact_01_ca_02__s_09_act_02_subact_01_ca_02_000001")
    person = sample["persons"][0]
    assert person.pgt_source == "neuralannot" and person.kp3d_format == "h36m17"
    # mocap joints (stored in metres, camera frame) reproject onto their stored 2D keypoints
    np.testing.assert_allclose(project(person.kp3d[:, :3], sample["K"]), person.kp2d[:, :2], atol=1e-2)
    np.testing.assert_allclose(sample["K"], [[110, 0, 50], [0, 111, 51], [0, 0, 1]], atol=1e-4)
