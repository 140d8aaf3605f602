"""The demo's parts without a server: model cache, settings checks, file store, handlers, CLI."""

from __future__ import annotations

import threading
import time

import gradio as gr
import numpy as np
import pytest
import torch
from gradio.data_classes import FileData
from PIL import Image

from hmr.cli.demo import load_demo
from hmr.cli.main import build_parser
from hmr.errors import HmrError

load_demo()  # puts the checkout's `demo` package on the path, analytics off
from demo.app import ImageUpload, build_app  # noqa: E402
from demo.handlers import DemoHandlers, parse_intrinsics, show_user_errors  # noqa: E402
from demo.models import AUTO_BODY, OPEN_DEFAULT, DemoConfig, ModelChoice, PredictorCache, find_checkpoints  # noqa: E402
from demo.outputs import OutputStore, standing_heights_m  # noqa: E402

SETTINGS = ("auto", "torch", 0.3, 3, 60.0, "")


class CountingFactory:
    """Stands in for loading a checkpoint: counts loads, slowly enough to overlap concurrent requests."""

    def __init__(self):
        self.loads: list[ModelChoice] = []

    def __call__(self, choice, config):
        time.sleep(0.05)
        self.loads.append(choice)
        return object()


def test_predictors_are_cached_per_setting_and_the_oldest_dropped():
    config = DemoConfig(checkpoints=["a.pt", "b.pt"], cache_size=2)
    factory = CountingFactory()
    cache = PredictorCache(config, factory)
    a_smplx, a_anny, b = (
        ModelChoice("a.pt", "smplx", "torch"),
        ModelChoice("a.pt", "anny", "torch"),
        ModelChoice("b.pt", AUTO_BODY, "torch"),
    )

    threads = [threading.Thread(target=cache.get, args=(a_smplx,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert factory.loads == [a_smplx]  # four simultaneous requests, one load
    first = cache.get(a_smplx)
    assert cache.get(a_smplx) is first
    cache.get(a_anny)
    cache.get(a_smplx)  # most recently used again
    cache.get(b)  # over capacity: a_anny goes
    assert len(cache) == 2 and factory.loads == [a_smplx, a_anny, b]
    assert cache.get(a_smplx) is first
    cache.get(a_anny)
    assert factory.loads[-1] == a_anny


@pytest.mark.parametrize(
    "choice, message",
    [
        (ModelChoice("/etc/passwd", AUTO_BODY, "torch"), "unknown checkpoint"),
        (ModelChoice("a.pt", AUTO_BODY, "tflite"), "unknown backend"),
        (ModelChoice("a.pt", "mano", "torch"), "unknown body model"),
    ],
)
def test_only_offered_settings_are_loaded(choice, message):
    cache = PredictorCache(DemoConfig(checkpoints=["a.pt"]), CountingFactory())
    with pytest.raises(HmrError, match=message):
        cache.get(choice)


def test_checkpoints_offered_are_the_given_ones_then_weights_then_the_open_default(tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "net.onnx").write_bytes(b"x")
    (weights / "README.md").write_text("not a checkpoint")
    given = tmp_path / "mine.safetensors"
    given.write_bytes(b"x")
    assert find_checkpoints([str(given)], weights) == [str(given), str(weights / "net.onnx"), OPEN_DEFAULT]
    assert find_checkpoints([], tmp_path / "none") == [OPEN_DEFAULT]
    with pytest.raises(HmrError, match="no such file"):
        find_checkpoints([str(tmp_path / "missing.pt")], weights)
    onnx_first = DemoConfig(checkpoints=[str(weights / "net.onnx")])
    assert onnx_first.default_choice == ModelChoice(str(weights / "net.onnx"), AUTO_BODY, "onnx")
    assert DemoConfig().default_choice.checkpoint == OPEN_DEFAULT


def test_body_model_choices_follow_the_installed_files(fake_models_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("HMR_MODELS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./models here
    names = [value for _, value in DemoConfig(models_dir=str(fake_models_dir)).body_model_choices()]
    assert names[0] == AUTO_BODY and {"anny", "smplx", "skel"} <= set(names[1:])
    assert [value for _, value in DemoConfig(models_dir=str(tmp_path)).body_model_choices()] == [AUTO_BODY, "anny"]


def test_output_store_removes_released_folders_later_and_everything_on_close(tmp_path):
    store = OutputStore(keep_s=60.0, parent=tmp_path)
    with store.request() as first:
        (first / "a.npz").write_bytes(b"x")
    with store.request() as second:
        assert store.prune(now=time.monotonic() + 61) == 1  # the first one; the second is still in use
        assert not first.exists() and second.exists()
    assert store.prune() == 0 and second.exists()  # just released: Gradio may still be copying it
    store.close()
    assert not store.root.exists() and list(tmp_path.iterdir()) == []


def test_intrinsics_text():
    K = parse_intrinsics(" 800, 810; 320,240 ")
    np.testing.assert_allclose(K, [[800, 0, 320], [0, 810, 240], [0, 0, 1]])
    assert parse_intrinsics("") is None and parse_intrinsics(None) is None
    with pytest.raises(HmrError, match="four numbers"):
        parse_intrinsics("800 810 320 240")
    with pytest.raises(HmrError, match="positive"):
        parse_intrinsics("-800, 810, 320, 240")


def test_user_errors_become_messages_and_bugs_stay_in_the_log(caplog):
    @show_user_errors
    def user_mistake():
        raise HmrError("the photo is empty; upload another")

    @show_user_errors
    def bug():
        raise KeyError("secret_internal_name")

    with pytest.raises(gr.Error, match="the photo is empty; upload another"):
        user_mistake()
    with pytest.raises(gr.Error) as info:
        bug()
    assert "secret_internal_name" not in info.value.message and "server log" in info.value.message
    assert "secret_internal_name" in caplog.text


def test_unreadable_upload_is_named_in_the_message(tmp_path):
    fake = tmp_path / "cat.png"
    fake.write_text("meow")
    component = ImageUpload(type="filepath")
    assert component.get_block_name() == "image"  # drawn by the front end as a plain image
    with pytest.raises(gr.Error, match="cat.png is not an image that can be read"):
        component.preprocess(FileData(path=str(fake), orig_name="cat.png"))


def test_missing_body_model_files_are_a_message(tiny_checkpoint, tmp_path, example_image, monkeypatch):
    monkeypatch.delenv("HMR_MODELS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    config = DemoConfig(checkpoints=[str(tiny_checkpoint)], models_dir=str(tmp_path), device="cpu")
    handlers = DemoHandlers(config, store=OutputStore(parent=tmp_path))
    with pytest.raises(gr.Error, match="(?i)smpl-?x"):
        handlers.run_image(str(example_image), str(tiny_checkpoint), *SETTINGS)
    with pytest.raises(gr.Error, match="no image yet"):
        handlers.run_image(None, str(tiny_checkpoint), *SETTINGS)
    handlers.store.close()


def test_heights_do_not_depend_on_the_pose(fake_models_dir):
    from hmr.body import load_body_model
    from hmr.result import Person

    body = load_body_model("smplx", models_dir=fake_models_dir)
    torch.manual_seed(0)
    betas = torch.randn(2, 10) * 0.5

    def person(b, pose_scale):
        params = {
            "betas": b.numpy(),
            "body_pose": (torch.randn(21, 3) * pose_scale).numpy(),
            "global_orient": np.array([0.0, 1.0, 0.0], np.float32),
        }
        return Person(
            0.9,
            np.zeros(2),
            np.zeros(3),
            np.zeros(3),
            np.zeros((1, 3)),
            b.numpy(),
            np.zeros(0),
            np.zeros((1, 3)),
            np.zeros((1, 3)),
            np.zeros((1, 2)),
            params=params,
        )

    standing = standing_heights_m(body, [person(betas[0], 0.0), person(betas[1], 0.0)])
    crouched = standing_heights_m(body, [person(betas[0], 0.8), person(betas[1], 0.8)])
    np.testing.assert_allclose(standing, crouched, atol=1e-5)
    with torch.no_grad():
        rest = body(betas=betas).vertices[..., 1]
    np.testing.assert_allclose(standing, (rest.amax(-1) - rest.amin(-1)).numpy(), atol=1e-5)
    assert standing[0] != pytest.approx(standing[1])  # shape does change it
    assert standing_heights_m(None, [person(betas[0], 0.0)]) == [None]


def test_live_frames_are_shrunk_drawn_and_timed(tiny_checkpoint, fake_models_dir, tmp_path):
    config = DemoConfig(
        checkpoints=[str(tiny_checkpoint)], models_dir=str(fake_models_dir), device="cpu", live_max_side=320
    )
    handlers = DemoHandlers(config, store=OutputStore(parent=tmp_path))
    frame = np.asarray(Image.new("RGB", (800, 600), (90, 120, 150)))
    state = {}
    for _ in range(3):
        overlay, line, state = handlers.live_frame(frame, state, str(tiny_checkpoint), *SETTINGS)
    assert overlay.shape == (240, 320, 3)
    fps = float(line.split(" frames/s")[0])
    assert fps > 0 and "320x240 px" in line
    overlay, line, _ = handlers.live_frame(frame, state, str(tiny_checkpoint), "auto", "torch", 0.3, 3, 60.0, "1,2")
    assert line.startswith("Error: intrinsics must be four numbers") and overlay is frame
    handlers.store.close()


def test_app_queues_with_the_machine_s_concurrency_limit():
    config = DemoConfig(checkpoints=["a.pt"], device="cpu", queue_size=5)
    app = build_app(config, DemoHandlers(config, CountingFactory()))
    limits = {fn.api_name: (fn.concurrency_limit, fn.concurrency_id) for fn in app.fns.values()}
    assert limits == {"predict_image": (1, "image"), "predict_video": (1, "video"), "live_frame": (1, "live")}
    assert app._queue.max_size == 5
    assert DemoConfig(concurrency=3).resolved_concurrency() == 3


def test_cli_options_and_early_errors(tmp_path):
    args = build_parser().parse_args(["demo"])
    assert (args.host, args.port, args.share, args.quiet) == ("127.0.0.1", 7860, False, False)
    args = build_parser().parse_args(["demo", "--share", "--port", "8000", "-q", "--checkpoint", "x.pt"])
    assert args.share and args.port == 8000 and args.quiet and args.checkpoint == ["x.pt"]
    with pytest.raises(HmrError, match="no such file"):
        args.run(build_parser().parse_args(["demo", "--checkpoint", str(tmp_path / "missing.pt")]))
