import numpy as np
from data_sources.make_4dhumans import make_4dhumans

from data_tools.convert_4dhumans import FourDHumans
from data_tools.driver import run_conversion
from hmr.data.reader import IndexedDataset


def test_4dhumans_shards_roundtrip(tmp_path):
    expected = make_4dhumans(tmp_path / "src")
    report = run_conversion(FourDHumans(), tmp_path / "src", tmp_path / "out", quiet=True)
    assert report.converted == 3 and not report.failed
    ds = IndexedDataset(tmp_path / "out")
    assert sorted(ds.keys) == sorted(expected)
    for key, people in expected.items():
        persons = ds.get(key)["persons"]
        assert len(persons) == len(people)
        for got, src in zip(persons, people):
            np.testing.assert_allclose(got.params["global_orient"], src["body_pose"][:3], atol=1e-6)
            np.testing.assert_allclose(got.params["body_pose"], src["body_pose"][3:], atol=1e-6)
            np.testing.assert_allclose(got.kp2d, src["keypoints_2d"], atol=1e-5)
            np.testing.assert_allclose(got.bbox_xyxy, [10, 5, 50, 45], atol=1e-4)  # centre +- scale * 100
            assert got.has_params and not got.has_transl and got.kp2d_format == "hmr2_44"


def test_4dhumans_refuses_code_in_pickle_and_goes_on(tmp_path, capsys):
    make_4dhumans(tmp_path / "src", evil_key="000000000049")
    report = run_conversion(FourDHumans(), tmp_path / "src", tmp_path / "out", quiet=True)
    assert "pwned" not in capsys.readouterr().out
    assert report.converted == 2 and len(report.failed) == 1
    path, why = report.failed[0]
    assert "000000000049" in path and "builtins.print" in why and "allow-list" in why
