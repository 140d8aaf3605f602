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
