"""``hmr-data synth``: the unified format, resuming, parallel parts, bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from data_tools.cli import main
from hmr.data.layout import DatasetLayout
from hmr.data.reader import IndexedDataset
from hmr.data.verify import verify_dataset

SMALL = ["--width", "160", "--height", "120", "--max-people", "3", "--images-per-shard", "2", "-q"]


def _labels(out) -> pa.Table:
    layout = DatasetLayout(out, "synth")
    table = pa.concat_tables([pq.read_table(layout.label_part(stem)) for stem in layout.stems()])
    table = table.sort_by("instance_id")
    assert all(np.isnan(v) for v in table.column("fit_error_mm").to_pylist())  # NaN: not a fit; NaN != NaN
    return table.drop(["fit_error_mm"])


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "one"
    assert main(["synth", "--out", str(out), "--num-images", "5", "--seed", "4", "--save-masks", *SMALL]) == 0
    return out


def test_writes_the_unified_format_that_verify_and_the_reader_accept(one_run, capsys):
    layout = DatasetLayout(one_run, "synth")
    assert layout.stems() == ["train-000000", "train-000001", "train-000002"]
    report = verify_dataset(one_run)
    assert report.ok, report.problems
    manifest = json.loads(layout.manifest.read_text())
    assert manifest["license_tag"] == "hmr-synth-cc0-1.0"
    assert manifest["synth"]["train"]["seed"] == 4 and manifest["splits"]["train"]["images"] == 5
    data = IndexedDataset(one_run)
    assert len(data) == 5
    sample = data[3]
    assert sample["image"].shape == (120, 160, 3)
    persons = sample["persons"]
    assert 1 <= len(persons) <= 3 and all(p.body_model == "anny" and p.has_transl for p in persons)


def test_parts_side_by_side_make_the_same_people_as_one_run(one_run, tmp_path):
    out = tmp_path / "parts"
    for part in (2, 0, 1):
        args = ["synth", "--out", str(out), "--num-images", "5", "--seed", "4", "--save-masks", *SMALL]
        assert main([*args, "--num-shards", "3", "--shard-index", str(part)]) == 0
    assert _labels(out).equals(_labels(one_run))
    assert json.loads(DatasetLayout(out, "synth").manifest.read_text())["splits"]["train"]["images"] == 5


def test_a_killed_run_resumes_after_its_last_complete_shard(one_run, tmp_path, capsys):
    import shutil

    out = tmp_path / "resume"
    shutil.copytree(one_run, out)
    layout = DatasetLayout(out, "synth")
    layout.image_part("train-000001").unlink()  # the commit marker of the middle shard: as if killed there
    capsys.readouterr()
    assert main(["synth", "--out", str(out), "--num-images", "5", "--seed", "4", "--save-masks", *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "synth: 2 images (" in printed and "3 already done" in printed
    assert _labels(out).equals(_labels(one_run))


def test_other_settings_into_the_same_folder_are_refused(one_run, capsys):
    assert main(["synth", "--out", str(one_run), "--num-images", "5", "--seed", "5", *SMALL]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seed" in err and "other settings" in err


def test_an_unreadable_background_is_reported_in_one_line_and_skipped(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.full((60, 80, 3), (200, 30, 30), np.uint8)).save(photos / "red.png")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    out = tmp_path / "bg"
    code = main(["synth", "--out", str(out), "--num-images", "2", "--backgrounds", str(photos), *SMALL])
    captured = capsys.readouterr()
    assert code == 1
    failed = [line for line in captured.err.splitlines() if "broken.jpg" in line]
    assert len(failed) == 1 and "not a readable image" in failed[0]
    assert "2 images" in captured.out
    image = IndexedDataset(out)[0]["image"]
    # the backdrop is the red photo (procedural scenes have no such colour): corners are red
    assert image[2, 2, 0] > 150 and image[2, 2, 1] < 90


def test_preset_refuses_flags_it_fixes(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "b"), "--preset", "bench-v1", "--seed", "3"]) == 2
    assert "--preset bench-v1 fixes the set" in capsys.readouterr().err


def test_motion_files_pose_people_and_a_bad_or_foreign_one_is_reported_in_one_line(tmp_path, capsys):
    from tests.synth.test_motion import write_bvh

    motions = tmp_path / "mocap"
    motions.mkdir()
    write_bvh(motions / "good.bvh")
    (motions / "broken.bvh").write_text("HIERARCHY\nROOT Hips\n{")
    write_bvh(motions / "robot.bvh", names={"LeftForeArm": "Joint7"})
    out = tmp_path / "out"
    argv = ["synth", "--out", str(out), "--num-images", "2", "--poses", str(motions), *SMALL]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and any("broken.bvh" in line for line in err)
    assert any("robot.bvh" in line and "cannot retarget" in line for line in err)
    sources = {p.pgt_version for i in range(2) for p in IndexedDataset(out)[i]["persons"]}
    assert sources and all(s.startswith("synth:motion:good.bvh#") for s in sources)
