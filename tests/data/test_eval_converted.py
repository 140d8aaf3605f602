"""``hmr eval`` on every converted test fixture: the protocol of each dataset runs end to end.

Predictions are made from each dataset's own ground truth, so every protocol must report F1 = 1
and zero joint error; what this checks is that converters and protocols agree on splits, body
models, genders and joints.
"""

from __future__ import annotations

import json

import pytest
from data_sources.make_3dpw import make_3dpw
from data_sources.make_agora import make_agora
from data_sources.make_bedlam import make_bedlam
from data_sources.make_emdb import make_emdb

from data_tools.convert_3dpw import ThreeDPW
from data_tools.convert_agora import Agora
from data_tools.convert_bedlam import Bedlam
from data_tools.convert_emdb import Emdb
from data_tools.driver import run_conversion
from hmr.cli.main import main
from tests.eval.test_evaluate import _gt_predictions, _write

SOURCES = {
    "3dpw": (make_3dpw, ThreeDPW),
    "emdb1": (make_emdb, Emdb),
    "agora": (make_agora, Agora),
    "bedlam": (make_bedlam, Bedlam),
}


@pytest.mark.parametrize("protocol", list(SOURCES))
def test_each_converted_fixture_evaluates_under_its_protocol(protocol, tmp_path, models_dir, capsys):
    make, converter = SOURCES[protocol]
    make(tmp_path / "src", models_dir)
    splits = ("emdb1",) if protocol == "emdb1" else ()
    report = run_conversion(converter(), tmp_path / "src", tmp_path / "data", splits, models_dir=models_dir, quiet=True)
    assert report.converted > 0 and not report.failed
    predictions = _write(_gt_predictions(tmp_path / "data", protocol, models_dir), tmp_path / "pred", by_name=True)
    argv = ["eval", str(tmp_path / "data"), "--predictions", str(predictions), "--models-dir", str(models_dir)]
    assert main([*argv, "--out", str(tmp_path / "report"), "-q"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"protocol {protocol}:")
    result = json.loads((tmp_path / "report" / "report.json").read_text())
    assert result["protocol"]["name"] == protocol and result["people"] > 0
    assert result["f1"] == 1.0
    assert result["metrics"]["mpjpe_mm"] == pytest.approx(0.0, abs=1e-2)
    assert result["metrics"]["pve_mm"] == pytest.approx(0.0, abs=1e-2)


def test_ehf_measures_hands_at_the_wrists_and_the_face_at_the_neck(tmp_path, models_dir):
    import numpy as np
    from data_sources.make_2d import make_ehf

    from data_tools.convert_ehf import Ehf
    from hmr.eval import evaluate
    from hmr.eval.smplx_regions import load_smplx_regions

    template = np.load(models_dir / "smplx" / "SMPLX_NEUTRAL.npz", allow_pickle=True)["v_template"]
    make_ehf(tmp_path / "src", template=template)
    assert run_conversion(Ehf(), tmp_path / "src", tmp_path / "data", quiet=True).converted > 0
    regions = load_smplx_regions(models_dir)
    left, right = regions.vertices["left_hand"], regions.vertices["right_hand"]
    assert len(left) and len(right) and len(regions.vertices["face"])

    def shift_left_hand(joints, verts):
        verts = verts.copy()
        verts[left] += [0.01, 0.0, 0.0]  # the hand moves 10 mm, its wrist joint does not
        return joints, verts

    exact = _write(_gt_predictions(tmp_path / "data", "ehf", models_dir), tmp_path / "p0", by_name=True)
    report = evaluate(tmp_path / "data", predictions_dir=exact, models_dir=models_dir)
    assert report.protocol["name"] == "ehf" and report.f1 == 1.0
    for name in ("pve_mm", "pve_hands_mm", "pve_face_mm", "pa_pve_hands_mm", "mpjpe_mm"):
        assert report.metrics[name] == pytest.approx(0.0, abs=1e-3), name
    moved = _gt_predictions(tmp_path / "data", "ehf", models_dir, transform=shift_left_hand)
    report = evaluate(tmp_path / "data", predictions_dir=_write(moved, tmp_path / "p1", True), models_dir=models_dir)
    assert report.metrics["pve_hands_mm"] == pytest.approx(10.0 * len(left) / (len(left) + len(right)), rel=1e-4)
    assert report.metrics["pa_pve_hands_mm"] == pytest.approx(0.0, abs=1e-3)  # a shift is undone by Procrustes
    assert report.metrics["pve_face_mm"] == pytest.approx(0.0, abs=1e-3)
