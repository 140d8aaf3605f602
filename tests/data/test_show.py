import numpy as np
from data_sources.make_emdb import make_emdb
from PIL import Image

from data_tools.cli import main
from data_tools.convert_emdb import Emdb
from data_tools.driver import run_conversion
from data_tools.show import render_sample
from hmr.body.dataset_bodies import BodyBank
from hmr.camera import project
from hmr.data.reader import IndexedDataset


def test_show_draws_meshes_where_bodies_project(tmp_path, models_dir, capsys):
    make_emdb(tmp_path / "src", models_dir)
    run_conversion(Emdb(), tmp_path / "src", tmp_path / "out", models_dir=models_dir, quiet=True)
    sample = IndexedDataset(tmp_path / "out").get("emdb/all/P1__14_outdoor_climb__00000")
    drawn = np.asarray(render_sample(sample, BodyBank(models_dir))).astype(int)
    changed = np.abs(drawn - sample["image"]).sum(-1) > 30
    person = sample["persons"][0]
    pelvis = np.round(project(person.kp3d[:1, :3], sample["K"])[0]).astype(int)
    assert changed[pelvis[1], pelvis[0]]  # the silhouette covers the pelvis
    x0, y0, x1, y1 = person.bbox_xyxy
    outside = changed.copy()
    outside[int(y0) - 3 : int(y1) + 4, int(x0) - 3 : int(x1) + 4] = False
    assert outside.sum() < 0.01 * outside.size  # nothing drawn away from the person
    # the CLI writes a contact sheet: 3 tiles in a 2 x 2 grid
    out = tmp_path / "sheet.png"
    assert main(["show", str(tmp_path / "out"), "--n", "3", "--out", str(out), "--models-dir", str(models_dir)]) == 0
    with Image.open(out) as sheet:
        assert sheet.size == (2 * 320, 2 * 336)
    assert str(out) in capsys.readouterr().out


def test_show_without_model_files_draws_keypoints_only(tmp_path, models_dir):
    make_emdb(tmp_path / "src", models_dir)
    run_conversion(Emdb(), tmp_path / "src", tmp_path / "out", models_dir=models_dir, quiet=True)
    out = tmp_path / "sheet.png"
    assert (
        main(["show", str(tmp_path / "out"), "--n", "1", "--out", str(out), "--models-dir", str(tmp_path / "none")])
        == 0
    )
    assert out.exists()
