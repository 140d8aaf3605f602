"""The ONNX backend: provider choice and fallback, self-description, bad files, and running without torch."""

import json
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx_checks import FIXTURE_THRESH
from PIL import Image

from hmr.errors import HmrError
from hmr.infer.onnx_backend import OnnxBackend, choose_providers, open_session
from hmr.infer.preprocess import prepare
from hmr.onnx_format import FORMAT_TAG, decode_faces

pytestmark = pytest.mark.slow  # builds and exports ONNX models

REPO = Path(__file__).resolve().parents[2]
GPU_WHEEL = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
#: a meta-path hook that makes ``import torch`` fail, for the runs that must not need it
BLOCK_TORCH = textwrap.dedent("""
    import importlib.abc, sys
    class _NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked in this test")
    sys.meta_path.insert(0, _NoTorch())
""")


@pytest.fixture(scope="module")
def fixture_metadata(fixture_onnx) -> dict:
    return {prop.key: prop.value for prop in onnx.load(str(fixture_onnx), load_external_data=False).metadata_props}


# -- providers ---------------------------------------------------------------------------------------


def test_auto_prefers_tensorrt_then_cuda_then_cpu():
    assert choose_providers("auto", GPU_WHEEL[::-1]) == GPU_WHEEL
    assert choose_providers("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == GPU_WHEEL[1:]
    assert choose_providers("auto", ["AzureExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_named_provider_keeps_later_ones_as_fallback():
    assert choose_providers("cuda", GPU_WHEEL) == GPU_WHEEL[1:]
    assert choose_providers("cuda:1", GPU_WHEEL) == GPU_WHEEL[1:]
    assert choose_providers("tensorrt", GPU_WHEEL) == GPU_WHEEL
    assert choose_providers("cpu", GPU_WHEEL) == ["CPUExecutionProvider"]


def test_missing_provider_says_which_wheel_to_install():
    with pytest.raises(HmrError, match="CUDAExecutionProvider requested.*onnxruntime-gpu"):
        choose_providers("cuda", ["CPUExecutionProvider"])
    with pytest.raises(HmrError, match="TensorrtExecutionProvider requested"):
        choose_providers("tensorrt", ["CUDAExecutionProvider", "CPUExecutionProvider"])
    with pytest.raises(HmrError, match="unknown device"):
        choose_providers("tpu", GPU_WHEEL)


def test_gpu_wheel_without_gpu_falls_back_to_cpu_and_says_so(fixture_onnx, caplog):
    """The GPU wheel lists GPU providers on machines without a GPU; what runs is read from the session."""
    with warnings.catch_warnings(), caplog.at_level(logging.INFO, logger="hmr"):
        warnings.simplefilter("ignore")  # this CPU wheel warns that it was asked for providers it lacks
        session, provider = open_session(fixture_onnx, "auto", available=GPU_WHEEL)
    assert provider == "CPUExecutionProvider" == session.get_providers()[0]
    lines = [r.getMessage() for r in caplog.records if r.name == "hmr"]
    assert len(lines) == 1 and lines[0].endswith("on CPUExecutionProvider")
    with warnings.catch_warnings(), pytest.raises(HmrError, match="could not start.*--device cpu"):
        warnings.simplefilter("ignore")
        open_session(fixture_onnx, "cuda", available=GPU_WHEEL)


def test_bad_gpu_index_is_a_clear_error(fixture_onnx):
    with pytest.raises(HmrError, match="cuda:N"):
        open_session(fixture_onnx, "cuda:x", available=GPU_WHEEL)


# -- metadata ----------------------------------------------------------------------------------------


def test_metadata_describes_the_model(fixture_onnx, smplx_body):
    session = ort.InferenceSession(str(fixture_onnx), providers=["CPUExecutionProvider"])
    model_meta = session.get_modelmeta()
    meta = model_meta.custom_metadata_map
    assert model_meta.producer_name == "hmr"
    assert meta["hmr_format"] == FORMAT_TAG and meta["precision"] == "fp32"
    assert (meta["img_size"], meta["max_persons"], meta["nms_kernel"], meta["body_model"]) == ("448", "8", "3", "smplx")
    config = json.loads(meta["network_config"])
    assert config["backbone"] == "dinov2_vits14" and config["img_size"] == 448
    np.testing.assert_array_equal(decode_faces(meta["faces"]), smplx_body.faces)
    assert json.loads(meta["joint_names"]) == list(smplx_body.joint_names) and len(smplx_body.joint_names) == 127
    assert json.loads(meta["image_mean"]) == [0.485, 0.456, 0.406]
    preprocessing = json.loads(meta["preprocessing"])
    assert "centred" in preprocessing["images"] and "uint8" in preprocessing["images"]
    outputs = json.loads(meta["outputs"])
    assert [o.name for o in session.get_outputs()] == list(outputs)
    assert outputs["vertices"]["shape"] == ["batch", 8, 10475, 3] and "m, camera frame" in outputs["vertices"]["units"]
    assert outputs["valid"]["dtype"] == "bool"
    assert [(i.name, i.type) for i in session.get_inputs()] == [
        ("images", "tensor(uint8)"),
        ("K", "tensor(float)"),
        ("det_thresh", "tensor(float)"),
    ]
    assert session.get_inputs()[0].shape == ["batch", 3, 448, 448]


def test_node_debug_records_are_stripped(fixture_onnx):
    model = onnx.load(str(fixture_onnx), load_external_data=False)
    assert not any(node.metadata_props for node in model.graph.node)
    assert str(REPO) not in model.SerializeToString().decode("latin-1")


def test_large_models_keep_weights_beside_the_graph(
    fixture_exporter, fixture_onnx, fixture_image, tmp_path, monkeypatch
):
    """Past protobuf's 2 GiB the weights go to ``<name>.data``; such a pair loads and runs the same."""
    from hmr.export import onnx_export

    monkeypatch.setattr(onnx_export, "MAX_SINGLE_FILE_BYTES", 1_000_000)
    path = fixture_exporter.save(tmp_path / "split.onnx")
    assert (tmp_path / "split.onnx.data").stat().st_size > 100e6 and path.stat().st_size < 10e6
    prepared = [prepare(fixture_image, 448)]
    split = OnnxBackend(path, device="cpu").predict_batch(prepared, FIXTURE_THRESH, 3)[0]
    whole = OnnxBackend(fixture_onnx, device="cpu").predict_batch(prepared, FIXTURE_THRESH, 3)[0]
    assert len(split) == 3
    np.testing.assert_array_equal(split.stacked()["vertices"], whole.stacked()["vertices"])


# -- bad files -----------------------------------------------------------------------------------------


def _small_model(path: Path, metadata: dict[str, str], outputs: list[str], img_size: int = 448) -> Path:
    """A valid ONNX file with the hmr inputs whose outputs are copies of K (enough for loading checks)."""
    inputs = [
        helper.make_tensor_value_info("images", TensorProto.UINT8, ["batch", 3, img_size, img_size]),
        helper.make_tensor_value_info("K", TensorProto.FLOAT, ["batch", 3, 3]),
        helper.make_tensor_value_info("det_thresh", TensorProto.FLOAT, []),
    ]
    nodes = [helper.make_node("Identity", ["K"], [name]) for name in outputs]
    values = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs]
    model = helper.make_model(
        helper.make_graph(nodes, "small", inputs, values), opset_imports=[helper.make_opsetid("", 18)]
    )
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def test_missing_file(tmp_path):
    with pytest.raises(HmrError, match="does not exist.*hmr export onnx"):
        OnnxBackend(tmp_path / "nope.onnx")


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 100, "truncated"])
def test_corrupt_file(tmp_path, fixture_onnx, content):
    path = tmp_path / "broken.onnx"
    if content == "truncated":
        with open(fixture_onnx, "rb") as fh:
            content = fh.read(1_000_000)
    path.write_bytes(content)
    with pytest.raises(HmrError, match="cannot load ONNX model .*broken.onnx"):
        OnnxBackend(path, device="cpu")


def test_model_newer_than_onnxruntime(tmp_path):
    """An opset this onnxruntime does not know (int8 files need opset 21, onnxruntime >= 1.19)."""
    path = _small_model(tmp_path / "future.onnx", {}, ["scores"])
    model = onnx.load(str(path))
    model.opset_import[0].version = 99
    onnx.save(model, str(path))
    with pytest.raises(HmrError, match=r"cannot load ONNX model .*future.onnx .*onnxruntime newer than"):
        OnnxBackend(path, device="cpu")


def test_foreign_onnx_file(tmp_path):
    path = _small_model(tmp_path / "foreign.onnx", {}, ["scores"])
    with pytest.raises(HmrError, match="not one written by `hmr export onnx`"):
        OnnxBackend(path, device="cpu")


def test_mismatched_files(tmp_path, fixture_metadata):
    params = ["scores", "valid", "loc", "transl", "rotmat", "rotvec", "betas", "expression"]
    newer = _small_model(tmp_path / "newer.onnx", {**fixture_metadata, "hmr_format": "hmr-onnx-v99"}, params)
    with pytest.raises(HmrError, match="hmr-onnx-v99.*re-export"):
        OnnxBackend(newer, device="cpu")
    no_mesh = _small_model(tmp_path / "no_mesh.onnx", fixture_metadata, params)
    with pytest.raises(HmrError, match="lacks vertices, joints_3d"):
        OnnxBackend(no_mesh, device="cpu")
    damaged = _small_model(tmp_path / "damaged.onnx", {**fixture_metadata, "max_persons": "eight"}, params)
    with pytest.raises(HmrError, match="metadata is incomplete or damaged"):
        OnnxBackend(damaged, device="cpu")
    resized = _small_model(
        tmp_path / "resized.onnx",
        fixture_metadata,
        params + ["vertices", "joints_3d", "joints_2d", "transl_pelvis"],
        img_size=224,
    )
    with pytest.raises(HmrError, match="images input has shape .*448 px"):
        OnnxBackend(resized, device="cpu")


def test_wrong_body_model_or_nms_kernel(fixture_onnx, fixture_image):
    with pytest.raises(HmrError, match="predicts 'smplx' bodies, not 'anny'"):
        OnnxBackend(fixture_onnx, device="cpu", body_model="anny")
    backend = OnnxBackend(fixture_onnx, device="cpu", body_model="smplx")
    with pytest.raises(HmrError, match="exported with NMS kernel 3"):
        backend.predict_batch([prepare(fixture_image, 448)], 0.5, 5)


# -- no torch ------------------------------------------------------------------------------------------


def _run_without_torch(script: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH + script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]


def test_backend_runs_without_torch(fixture_onnx, multihmr_fixture, test_images, tmp_path):
    """rtmlib style: preprocessing, ONNX backend and results with numpy + onnxruntime only."""
    wide = tmp_path / "wide.png"
    Image.fromarray(test_images["wide"]).save(wide)
    script = textwrap.dedent(f"""
        import sys
        from hmr.infer.onnx_backend import OnnxBackend
        from hmr.infer.preprocess import prepare

        backend = OnnxBackend({str(fixture_onnx)!r}, device="cpu")
        images = [prepare({str(multihmr_fixture / "input_448.png")!r}, backend.img_size),
                  prepare({str(wide)!r}, backend.img_size)]
        for name, result in zip(["fixture", "wide"], backend.predict_batch(images, {FIXTURE_THRESH}, 3)):
            result.to_npz(name + ".npz")
        assert "torch" not in sys.modules
    """)
    _run_without_torch(script, tmp_path)
    got = np.load(tmp_path / "fixture.npz")
    expected = np.load(multihmr_fixture / "expected_vits448.npz")
    for key in ("vertices", "joints_3d", "transl", "betas"):
        assert np.abs(got[key] - expected[key]).max() < 1e-4, key
    assert np.abs(got["joints_2d"] - expected["joints_2d"]).max() < 5e-2
    assert np.load(tmp_path / "wide.npz")["vertices"].shape == (1, 10475, 3)
    assert tuple(np.load(tmp_path / "wide.npz")["image_size"]) == (448, 200)


def test_service_snippet_in_docs_runs_without_hmr_or_torch(fixture_onnx, multihmr_fixture, tmp_path):
    """The README's 'Deploying in a service' code, as written, reproduces the fixture."""
    readme = (REPO / "README.md").read_text()
    doc = readme.split("## Deploying in a service", 1)[1].split("\n## ", 1)[0]
    snippet = doc.split("```python\n", 1)[1].split("```", 1)[0]
    for line in ('MODEL = "model.onnx"', 'IMAGE = "photo.jpg"', "DET_THRESH = 0.3"):
        assert line in snippet, line
    snippet = (
        snippet.replace('MODEL = "model.onnx"', f"MODEL = {str(fixture_onnx)!r}")
        .replace('IMAGE = "photo.jpg"', f"IMAGE = {str(multihmr_fixture / 'input_448.png')!r}")
        .replace("DET_THRESH = 0.3", f"DET_THRESH = {FIXTURE_THRESH}")
    )
    blocker = BLOCK_TORCH + textwrap.dedent("""
        class _NoHmr(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "hmr" or name.startswith("hmr."):
                    raise ImportError("hmr is blocked in this test")
        sys.meta_path.insert(0, _NoHmr())
    """)
    script = blocker + snippet + "\nnp.savez('out.npz', vertices=vertices, loc=loc, faces=faces, joints_2d=joints_2d)\n"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    # providers chosen explicitly: the best this wheel has (CPU on the CPU wheel), never e.g. Azure's
    best = next(
        p
        for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
        if p in ort.get_available_providers()
    )
    assert run.stdout.strip().endswith(f"person(s) on {best}"), run.stdout
    got = np.load(tmp_path / "out.npz")
    expected = np.load(multihmr_fixture / "expected_vits448.npz")
    assert np.abs(got["vertices"] - expected["vertices"]).max() < 1e-4
    assert np.abs(got["loc"] - expected["loc"]).max() < 1e-2
    assert np.abs(got["joints_2d"] - expected["joints_2d"]).max() < 5e-2
    assert got["faces"].shape == (20908, 3)
