from data_sources.checks import check_bodies
from data_sources.make_emdb import make_emdb

from data_tools.convert_emdb import Emdb
from data_tools.driver import run_conversion
from hmr.data.reader import IndexedDataset


def test_emdb_roundtrip_good_frames_only(tmp_path, models_dir):
    expected = make_emdb(tmp_path / "src", models_dir)
    report = run_conversion(Emdb(), tmp_path / "src", tmp_path / "out", models_dir=models_dir, quiet=True)
    assert report.converted == 6 and not report.failed
    assert check_bodies(tmp_path / "out", expected, models_dir, joint_ids=slice(0, 24)) == 6
    ds = IndexedDataset(tmp_path / "out")
    person = ds.get("emdb/all/P1__14_outdoor_climb__00000")["persons"][0]
    assert person.gender == "male" and person.kp2d_format == "smpl24" and person.has_bbox
    assert not ds.get("emdb/all/P1__14_outdoor_climb__00003")["persons"][0].has_bbox  # listed as invalid


def test_emdb_subset_split(tmp_path, models_dir):
    make_emdb(tmp_path / "src", models_dir)
    run_conversion(Emdb(), tmp_path / "src", tmp_path / "out", splits=["emdb1"], models_dir=models_dir, quiet=True)
    keys = IndexedDataset(tmp_path / "out").keys
    assert len(keys) == 3 and all(k.startswith("emdb/emdb1/P1__") for k in keys)
