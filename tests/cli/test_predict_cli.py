"""`hmr predict` end to end on a tiny network: outputs, bad files, zero persons, batching."""

import numpy as np
import pytest
from PIL import Image

from hmr.cli.main import main

SCHEMA = {
    "scores": 1,
    "loc": 2,
    "transl": 2,
    "transl_pelvis": 2,
    "rotvec": 3,
    "betas": 2,
    "expression": 2,
    "vertices": 3,
    "joints_3d": 3,
    "joints_2d": 3,
}


def photo(seed: int, width: int = 160, height: int = 120) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


@pytest.fixture()
def image_dir(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    photo(1).save(folder / "a.jpg")
    photo(2, 90, 140).save(folder / "b.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    photo(3).convert("L").save(folder / "c.png")
    return folder


def run_predict(args, tiny_checkpoint, fake_models_dir, out):
    return main(
        [
            "predict",
            *args,
            "--checkpoint",
            str(tiny_checkpoint),
            "--models-dir",
            str(fake_models_dir),
            "--out",
            str(out),
            "-q",
            "--device",
            "cpu",
        ]
    )


def test_folder_with_a_broken_file_keeps_going(image_dir, tiny_checkpoint, fake_models_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = run_predict([str(image_dir), "--det-thresh", "0.5"], tiny_checkpoint, fake_models_dir, out)
    err = capsys.readouterr().err
    assert code == 1
    assert "broken.jpg" in err and "Traceback" not in err
    for stem in ("a", "b", "c"):
        assert (out / f"{stem}.npz").is_file() and (out / f"{stem}_overlay.jpg").is_file()
        assert (out / f"{stem}.glb").is_file()
    assert not (out / "broken.npz").exists()
    assert not [p for p in out.iterdir() if ".part" in p.name]
    result = np.load(out / "b.npz")
    assert result["image_size"].tolist() == [90, 140]
    assert len(result["scores"]) > 0
    for key, ndim in SCHEMA.items():
        assert result[key].ndim == ndim and len(result[key]) == len(result["scores"]), key
    overlay = Image.open(out / "b_overlay.jpg")
    assert overlay.size == (90, 140)


def test_zero_persons_gives_empty_arrays(tiny_checkpoint, fake_models_dir, tmp_path):
    photo(4).save(tmp_path / "empty.png")
    code = run_predict(
        [str(tmp_path / "empty.png"), "--det-thresh", "1.0"], tiny_checkpoint, fake_models_dir, tmp_path / "out"
    )
    assert code == 0
    result = np.load(tmp_path / "out" / "empty.npz")
    assert result["scores"].shape == (0,)
    assert result["vertices"].shape[0] == 0 and result["rotvec"].shape[0] == 0
    assert (tmp_path / "out" / "empty_overlay.jpg").is_file()


def test_no_render_writes_only_npz(tiny_checkpoint, fake_models_dir, tmp_path):
    photo(5).save(tmp_path / "x.jpg")
    assert run_predict([str(tmp_path / "x.jpg"), "--no-render"], tiny_checkpoint, fake_models_dir, tmp_path / "o") == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["x.npz"]


def test_bad_options_are_one_line_errors(tiny_checkpoint, fake_models_dir, tmp_path, capsys):
    photo(6).save(tmp_path / "x.jpg")
    assert run_predict([str(tmp_path / "x.jpg"), "--nms", "2"], tiny_checkpoint, fake_models_dir, tmp_path) == 2
    assert run_predict([str(tmp_path / "nothing*.jpg")], tiny_checkpoint, fake_models_dir, tmp_path) == 2
    assert main(["predict", str(tmp_path / "x.jpg"), "--checkpoint", str(tmp_path / "nope.pt")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("hmr predict: error")]
    assert len(errors) == 3 and all("Traceback" not in e for e in errors)


def test_batched_equals_one_by_one(tiny_network, fake_models_dir):
    from hmr import Predictor

    predictor = Predictor(tiny_network, models_dir=fake_models_dir, device="cpu", batch_size=3)
    images = [np.asarray(photo(s)) for s in (10, 11, 12)]
    batched = predictor.predict(images, det_thresh=0.55)
    counts = [len(r) for r in batched]
    assert len(set(counts)) > 1, f"want differing person counts to exercise padding, got {counts}"
    for image, result in zip(images, batched):
        single = predictor.predict(image, det_thresh=0.55)
        assert len(single) == len(result)
        if len(single):
            assert np.abs(single.stacked()["vertices"] - result.stacked()["vertices"]).max() < 1e-5
