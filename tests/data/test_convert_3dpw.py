import numpy as np
import pytest
from data_sources.checks import check_bodies
from data_sources.make_3dpw import OPENPOSE_FROM_SMPL, make_3dpw
from data_sources.py2pickle import dumps_py2

from data_tools import safe_pickle
from data_tools.cli import main
from data_tools.convert_3dpw import ThreeDPW
from data_tools.driver import run_conversion
from hmr.camera import project
from hmr.data.reader import IndexedDataset
from hmr.errors import HmrError


@pytest.fixture(scope="module")
def src_3dpw(tmp_path_factory, models_dir):
    root = tmp_path_factory.mktemp("3dpw_src")
    return root, make_3dpw(root, models_dir)


@pytest.mark.parametrize("max_side", [2000, 96])
def test_3dpw_roundtrip(src_3dpw, models_dir, tmp_path, max_side):
    src, expected = src_3dpw
    report = run_conversion(ThreeDPW(), src, tmp_path, max_side=max_side, models_dir=models_dir, quiet=True)
    assert report.converted == 6 and not report.failed
    src_size = {k: (108, 192) for k in expected}
    assert check_bodies(tmp_path, expected, models_dir, src_size) == 10
    ds = IndexedDataset(tmp_path)
    sample = ds.get("3dpw/train/courtyard_walk_00__image_00000")
    assert max(sample["img_w"], sample["img_h"]) == min(max_side, 192)
    person = sample["persons"][0]
    summary = (person.gender, person.body_model, person.num_betas, person.kp2d_format)
    assert summary == ("male", "smpl", 10, "openpose18")
    assert sample["persons"][1].gender == "female"
    # the stored 2D detections land where the stored body's joints project
    kp3d = person.kp3d[:, :3]
    np.testing.assert_allclose(person.kp2d[:, :2], project(kp3d[OPENPOSE_FROM_SMPL], sample["K"]), atol=1.0)
    # box inside the image, around the body
    x0, y0, x1, y1 = person.bbox_xyxy
    assert 0 <= x0 < x1 < sample["img_w"] and 0 <= y0 < y1 < sample["img_h"]


@pytest.mark.parametrize("max_side", [2000, 96])
def test_3dpw_each_label_lands_on_its_own_image(src_3dpw, models_dir, tmp_path, max_side):
    """img_frame_ids are 2t, as in the real files: image t must still get frame t's pose and camera.

    Each source image has a white marker where the first actor's pelvis projects in that frame; the
    stored label's pelvis, projected with the stored K, must fall on the stored image's marker.
    """
    src, _ = src_3dpw
    run_conversion(ThreeDPW(), src, tmp_path, max_side=max_side, models_dir=models_dir, quiet=True)
    ds = IndexedDataset(tmp_path)
    keys = sorted(ds.keys)
    assert keys == sorted(
        f"3dpw/{split}/{seq}__image_{t:05d}"
        for split, seq in (("train", "courtyard_walk_00"), ("test", "downtown_run_01"))
        for t in range(3)
    )
    scale = min(max_side, 192) / 192
    for key in keys:
        sample = ds.get(key)
        pelvis_px = project(sample["persons"][0].kp3d[0, :3], sample["K"])
        grey = np.asarray(sample["image"], np.float64).mean(-1)
        rows, cols = np.nonzero(grey > 0.5 * grey.max())
        marker_px = np.array([cols.mean(), rows.mean()])
        assert grey.max() > 150, key
        np.testing.assert_allclose(pelvis_px, marker_px, atol=max(1.0, 1.5 * scale), err_msg=key)


def test_a_damaged_sequence_is_reported_in_one_line_and_the_others_convert(tmp_path, models_dir):
    root = tmp_path / "src"
    make_3dpw(root, models_dir, frames=2)
    seq_file = root / "sequenceFiles" / "test" / "downtown_run_01.pkl"
    seq = safe_pickle.load(seq_file, encoding="latin1")
    seq["poses"] = [poses[:1] for poses in seq["poses"]]
    seq_file.write_bytes(dumps_py2(seq))
    report = run_conversion(ThreeDPW(), root, tmp_path / "out", models_dir=models_dir, quiet=True)
    assert report.converted == 2  # the train sequence
    assert IndexedDataset(tmp_path / "out").keys == [f"3dpw/train/courtyard_walk_00__image_{t:05d}" for t in range(2)]
    [(path, reason)] = report.failed
    assert path == str(seq_file) and "\n" not in reason
    assert "poses has [1] frames per person but cam_poses has 2" in reason


def test_3dpw_split_filter_and_py2_pickle_needs_latin1(src_3dpw, models_dir, tmp_path):
    src, _ = src_3dpw
    report = run_conversion(ThreeDPW(), src, tmp_path, splits=["test"], models_dir=models_dir, quiet=True)
    assert report.converted == 3
    assert IndexedDataset(tmp_path).keys[0].startswith("3dpw/test/")


def test_3dpw_wrong_folder_names_missing_file(tmp_path, capsys):
    (tmp_path / "imageFiles").mkdir()
    with pytest.raises(HmrError, match="sequenceFiles is missing"):
        ThreeDPW().check_source(tmp_path)
    assert main(["convert", "3dpw", "--src", str(tmp_path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sequenceFiles is missing" in err
