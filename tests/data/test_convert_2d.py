import numpy as np
import pytest
from data_sources.make_2d import make_coco, make_ehf

from data_tools.convert_coco import Coco, CocoWholeBody
from data_tools.convert_ehf import Ehf
from data_tools.driver import run_conversion
from hmr.camera import project
from hmr.data.reader import IndexedDataset
from hmr.errors import HmrError


@pytest.mark.parametrize("max_side", [2000, 800])
def test_ehf_stores_camera_frame_mesh(tmp_path, max_side):
    expected = make_ehf(tmp_path / "src")
    report = run_conversion(Ehf(), tmp_path / "src", tmp_path / "out", max_side=max_side, quiet=True)
    assert report.converted == 2 and not report.failed
    ds = IndexedDataset(tmp_path / "out")
    s = 800 / 1600 if max_side == 800 else 1.0
    for key, exp in expected.items():
        sample = ds.get(key)
        assert (sample["img_w"], sample["img_h"]) == (round(1600 * s), round(1200 * s))
        person = sample["persons"][0]
        assert not person.has_params and person.has_verts
        assert np.abs(person.verts_cam - exp["verts_cam"]).max() < 1e-3
        # the stored 2D keypoints land where the stored mesh projects through the stored K
        np.testing.assert_allclose(project(person.verts_cam[:25], sample["K"]), person.kp2d[:25, :2], atol=1.0)
        np.testing.assert_allclose(person.kp2d[:25, :2], s * (exp["kp2d"][:, :2] + 0.5) - 0.5, atol=0.05)


@pytest.mark.parametrize("wholebody", [False, True])
def test_coco_keeps_native_keypoints_skips_crowd_and_empty(tmp_path, wholebody):
    expected = make_coco(tmp_path / "src", wholebody)
    conv = CocoWholeBody() if wholebody else Coco()
    report = run_conversion(conv, tmp_path / "src", tmp_path / "out", quiet=True)
    assert report.converted == 2 and not report.failed
    ds = IndexedDataset(tmp_path / "out")
    assert sorted(ds.keys) == sorted(expected)
    for key, kps in expected.items():
        sample = ds.get(key)
        assert [p.kp2d_format for p in sample["persons"]] == [conv.kp_format] * len(kps)
        for person, kp in zip(sample["persons"], kps):
            np.testing.assert_allclose(person.kp2d, kp, atol=1e-4)
            np.testing.assert_allclose(person.bbox_xyxy, [2, 3, 12, 23])
            assert person.body_model == "" and not person.has_params
        w, h = sample["img_w"], sample["img_h"]
        assert sample["K"][0, 0] == pytest.approx(0.5 * max(w, h) / np.tan(np.radians(30)), rel=1e-5)


def test_coco_missing_split_and_wrong_folder(tmp_path):
    make_coco(tmp_path / "src")
    with pytest.raises(HmrError, match="no split 'train'"):
        list(Coco().items(tmp_path / "src", ["train"]))
    with pytest.raises(HmrError, match=r"person_keypoints_\{train,val\}2017.json is missing"):
        Coco().check_source(tmp_path)
