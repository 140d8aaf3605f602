from data_sources.checks import check_bodies
from data_sources.make_bedlam import make_bedlam

from data_tools.convert_bedlam import Bedlam
from data_tools.driver import run_conversion
from hmr.data.reader import IndexedDataset


def test_bedlam_roundtrip_groups_people_and_rotates_closeups(tmp_path, models_dir):
    expected, sizes = make_bedlam(tmp_path / "src", models_dir)
    report = run_conversion(Bedlam(), tmp_path / "src", tmp_path / "out", models_dir=models_dir, quiet=True)
    assert report.converted == 5 and not report.failed
    assert check_bodies(tmp_path / "out", expected, models_dir, sizes) == 7
    ds = IndexedDataset(tmp_path / "out")
    for key, (w, h) in sizes.items():
        sample = ds.get(key)
        assert (sample["img_w"], sample["img_h"]) == (w, h)
        assert sample["image"][:6, :6, 0].min() > 200 and sample["image"][:6, :6, 1].max() < 60  # marker top-left
        person = sample["persons"][0]
        assert (person.num_betas, person.gender, person.flat_hand_mean) == (11, "neutral", True)
        assert person.kp2d.shape == (127, 3)


def test_bedlam_wrong_folder(tmp_path):
    import pytest

    from hmr.errors import HmrError

    (tmp_path / "training_images").mkdir()
    with pytest.raises(HmrError, match="all_npz_12"):
        Bedlam().check_source(tmp_path)
