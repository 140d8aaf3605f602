"""The unified format itself: shards, index, streaming, label versions, resume, verify, stats."""

import json
import tarfile

import numpy as np
import pytest
import torch
from data_sources.make_2d import make_coco_many

from data_tools.base import ConvertedImage, SourceItem
from data_tools.convert_coco import Coco
from data_tools.driver import run_conversion
from data_tools.images import prepare_image
from hmr.data import PersonLabel, write_label_version
from hmr.data.layout import DatasetLayout, image_id_from_path
from hmr.data.manifest import read_manifest, write_manifest
from hmr.data.reader import IndexedDataset, StreamingDataset
from hmr.data.stats import all_stats
from hmr.data.verify import verify_dataset
from hmr.errors import HmrError


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """40 COCO images in shards of about 8 images."""
    root = tmp_path_factory.mktemp("fmt")
    keys = make_coco_many(root / "src", 40, noise=True)
    report = run_conversion(Coco(), root / "src", root / "out", shard_bytes=8 * 4000, quiet=True)
    assert report.converted == 40
    return root / "out", keys


def test_layout_keys_are_webdataset_safe():
    assert image_id_from_path("courtyard.v2/image_00001.jpg") == "courtyard_v2__image_00001"
    assert "." not in image_id_from_path("a.b/c.d.png") and "/" not in image_id_from_path("a/b/c")


def test_shards_index_and_manifest(converted):
    out, keys = converted
    layout = DatasetLayout(out, "coco")
    stems = layout.stems()
    assert len(stems) >= 4
    manifest = read_manifest(layout)
    assert manifest["splits"]["val"]["images"] == 40 and manifest["splits"]["val"]["instances"] == 40
    assert manifest["converter"]["name"] == "coco" and len(manifest["converter"]["code_sha256"]) == 64
    assert manifest["license_tag"] == "coco-cc-by-4.0"
    # shards are plain tars holding <key>.jpg + <key>.json, readable by any tar tool
    with tarfile.open(layout.shard(stems[0])) as tar:
        names = tar.getnames()
    assert names[0].startswith("coco/val/") and names[0].endswith(".jpg") and names[1].endswith(".json")
    # random access by the index gives the same bytes as the source image
    ds = IndexedDataset(out, decode=False)
    assert sorted(ds.keys) == keys
    sample = ds.get(keys[7])
    src = (out.parent / "src" / "val2017" / f"{keys[7].rsplit('/', 1)[1]}.jpg").read_bytes()
    assert sample["image"] == src  # JPEG sources are stored byte for byte


def test_streaming_shuffles_shards_and_splits_workers(converted):
    out, keys = converted
    ds = StreamingDataset(out, shuffle_shards=True, seed=3, decode=False)
    epoch0 = [s["image_key"] for s in ds]
    ds.set_epoch(1)
    epoch1 = [s["image_key"] for s in ds]
    assert sorted(epoch0) == sorted(epoch1) == keys
    assert epoch0 != epoch1  # another shard order
    plain = [s["image_key"] for s in StreamingDataset(out, shuffle_shards=False, decode=False)]
    assert plain == keys
    loader = torch.utils.data.DataLoader(StreamingDataset(out, decode=True), batch_size=None, num_workers=2)
    seen = []
    for sample in loader:
        assert sample["image"].shape == (32, 48, 3) and len(sample["persons"]) == 1
        seen.append(sample["image_key"])
    assert sorted(seen) == keys  # each sample once across the two workers
    kept = list(StreamingDataset(out, decode=False, keep=lambda s: s["image_key"].endswith("1")))
    assert {s["image_key"] for s in kept} == {k for k in keys if k.endswith("1")}
    buffered = [s["image_key"] for s in StreamingDataset(out, shuffle_shards=False, shuffle_buffer=10, decode=False)]
    assert sorted(buffered) == keys and buffered != keys


def test_label_versions_join_on_instance_id(converted, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(converted[0], out)
    layout = DatasetLayout(out, "coco")
    stem = layout.stems()[0]
    base = IndexedDataset(out).get(converted[1][0])
    iid = f"{base['image_key']}#0"
    version = PersonLabel(
        body_model="skel",
        gender="male",
        num_betas=10,
        params={"poses": np.arange(46.0), "betas": np.zeros(10)},
        has_params=True,
        has_betas=True,
        pgt_source="skel-fit",
        pgt_version="v1",
        fit_error_mm=4.5,
    )
    write_label_version(layout, stem, "skel-fit-v1", [{"instance_id": iid, **version.body_record()}])
    write_manifest(layout, label_version_info={"skel-fit-v1": {"source": "test"}})
    joined = IndexedDataset(out, label_version="skel-fit-v1").get(converted[1][0])["persons"][0]
    assert joined.body_model == "skel" and joined.fit_error_mm == pytest.approx(4.5)
    np.testing.assert_allclose(joined.params["poses"], np.arange(46.0))
    np.testing.assert_allclose(joined.kp2d, base["persons"][0].kp2d)  # non-body columns untouched
    assert IndexedDataset(out).get(converted[1][0])["persons"][0].body_model == ""  # base unchanged
    assert verify_dataset(out).ok
    stats = all_stats(out)["coco"]["val"]
    assert stats["versions"]["skel-fit-v1"] == {"skel": 1}
    manifest = read_manifest(layout)
    assert manifest["label_versions"]["skel-fit-v1"]["source"] == "test"
    with pytest.raises(HmrError, match="label version 'nope'"):
        IndexedDataset(out, label_version="nope").get(converted[1][0])


def test_verify_finds_tampering(converted, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(converted[0], out)
    assert verify_dataset(out).ok
    layout = DatasetLayout(out, "coco")
    stems = layout.stems()
    shard = layout.shard(stems[0])
    data = bytearray(shard.read_bytes())
    data[1000] ^= 0xFF
    shard.write_bytes(bytes(data))
    layout.shard(stems[1]).unlink()
    problems = verify_dataset(out).problems
    assert any("checksum differs" in p and stems[0] in p for p in problems)
    assert any(f"shards/{stems[1]}.tar" in p and "missing" in p for p in problems)
    quick = verify_dataset(out, checksums=False).problems
    assert not any("checksum" in p for p in quick)


def test_stats_counts_and_missing_fields(converted):
    stats = all_stats(converted[0])
    val = stats["coco"]["val"]
    assert val["images"] == 40 and val["instances"] == 40
    assert val["body_models"] == {"none": 40}
    assert val["missing"]["params"] == 40 and val["missing"].get("kp2d", 0) == 0


class _Interrupting(Coco):
    """Stops the run (as Ctrl-C would) after ``stop_after`` images."""

    def __init__(self, stop_after):
        self.stop_after, self.seen = stop_after, 0

    def convert(self, item, ctx):
        self.seen += 1
        if self.seen > self.stop_after:
            raise KeyboardInterrupt
        return super().convert(item, ctx)


def test_rerun_resumes_after_interrupt(tmp_path):
    keys = make_coco_many(tmp_path / "src", 30, noise=True)
    with pytest.raises(KeyboardInterrupt):
        run_conversion(_Interrupting(17), tmp_path / "src", tmp_path / "out", shard_bytes=5 * 4000, quiet=True)
    layout = DatasetLayout(tmp_path / "out", "coco")
    committed = len(IndexedDataset(tmp_path / "out").keys)
    assert 0 < committed < 17
    assert not list((layout.dir / "shards").glob(".*"))  # no temporary file left behind
    report = run_conversion(Coco(), tmp_path / "src", tmp_path / "out", shard_bytes=5 * 4000, quiet=True)
    assert report.already_done == committed and report.converted == 30 - committed
    assert sorted(IndexedDataset(tmp_path / "out").keys) == keys
    assert verify_dataset(tmp_path / "out").ok
    again = run_conversion(Coco(), tmp_path / "src", tmp_path / "out", quiet=True)
    assert again.converted == 0 and again.already_done == 30


def test_bad_file_is_reported_and_batch_goes_on(tmp_path, capsys):
    from data_tools.cli import main

    make_coco_many(tmp_path / "src", 6)
    (tmp_path / "src" / "val2017" / "000000000003.jpg").write_bytes(b"not a jpeg")
    rc = main(["convert", "coco", "--src", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "-q"])
    out, err = capsys.readouterr()
    assert rc == 1 and "5 images converted" in out and "1 failed" in out
    assert "000000000003.jpg" in err and "cannot decode" in err
    manifest = json.loads((tmp_path / "out" / "coco" / "manifest.json").read_text())
    assert manifest["failed"][0]["image"].endswith("000000000003.jpg")


@pytest.mark.slow
def test_workers_give_the_same_dataset(tmp_path):
    make_coco_many(tmp_path / "src", 12, noise=True)
    run_conversion(Coco(), tmp_path / "src", tmp_path / "one", quiet=True)
    run_conversion(Coco(), tmp_path / "src", tmp_path / "two", workers=2, quiet=True)
    a, b = IndexedDataset(tmp_path / "one", decode=False), IndexedDataset(tmp_path / "two", decode=False)
    assert a.keys == b.keys
    for key in a.keys:
        sa, sb = a.get(key), b.get(key)
        assert sa["image"] == sb["image"]
        np.testing.assert_array_equal(sa["persons"][0].kp2d, sb["persons"][0].kp2d)
    files = json.loads((tmp_path / "one/coco/manifest.json").read_text())["files"]
    assert files == json.loads((tmp_path / "two/coco/manifest.json").read_text())["files"]  # reproducible bytes


def test_cli_help_and_stats(converted, capsys):
    from data_tools.cli import main

    for cmd in ("convert", "convert-body", "stats", "show", "verify", "list"):
        with pytest.raises(SystemExit) as e:
            main([cmd, "--help"])
        assert e.value.code == 0
    capsys.readouterr()
    assert main(["stats", str(converted[0])]) == 0
    assert "coco" in capsys.readouterr().out
    assert main(["verify", str(converted[0]), "--no-checksums"]) == 0
    assert main(["stats", str(converted[0] / "nothing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


class _Synthetic(Coco):
    """A source-less converter: item i is a 96 x 96 noise JPEG (about 10 kB) with one person."""

    name = "synthetic"

    def __init__(self, n):
        self.n = n

    def check_source(self, src):
        pass

    def items(self, src, splits):
        for i in range(self.n):
            yield SourceItem("train", f"img{i:05d}", f"synthetic/{i}", {"seed": i})

    def convert(self, item, ctx):
        import io

        from PIL import Image

        rng = np.random.default_rng(item.payload["seed"])
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(buf, "JPEG", quality=90)
        image = prepare_image(buf.getvalue())
        person = PersonLabel(kp2d=rng.uniform(0, 96, (17, 3)), kp2d_format="coco17", bbox_xyxy=np.array([1, 2, 50, 60]))
        return ConvertedImage(image, np.eye(3), [person])


@pytest.mark.slow
def test_2000_images_convert_with_bounded_memory(tmp_path):
    """Memory does not grow with the number of images: they stream through a bounded window."""
    import tracemalloc

    run_conversion(_Synthetic(50), tmp_path, tmp_path / "warm", quiet=True)  # imports, caches
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    report = run_conversion(_Synthetic(2000), tmp_path, tmp_path / "out", shard_bytes=2_000_000, quiet=True)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    stored = sum(p.stat().st_size for p in (tmp_path / "out" / "synthetic" / "shards").iterdir())
    assert report.converted == 2000 and stored > 20_000_000
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB while converting {stored / 1e6:.1f} MB"
    assert len(DatasetLayout(tmp_path / "out", "synthetic").stems()) >= 10
