"""The demo's endpoints called programmatically with ``gradio_client``, as a script or service would."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import trimesh
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

pytestmark = pytest.mark.slow  # starts demo servers

DEFAULTS = {
    "body_model": "auto",
    "backend": "torch",
    "det_thresh": 0.3,
    "nms_kernel": 3,
    "fov_deg": 60,
    "intrinsics": "",
}


@pytest.fixture(scope="module")
def client(demo_server) -> Client:
    return Client(demo_server.url, verbose=False)


@pytest.fixture(scope="module")
def checkpoint(client) -> str:
    """The checkpoint the server offers first (the tiny network)."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/predict_image"]["parameters"]
    return next(p for p in params if p["parameter_name"] == "checkpoint")["parameter_default"]


def predict_image(client, image, checkpoint, **settings):
    return client.predict(handle_file(str(image)), checkpoint, **{**DEFAULTS, **settings}, api_name="/predict_image")


def write_video(path: Path, frames: int, size=(128, 96), fps: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(frames):
            image = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def test_predict_image_returns_consistent_overlay_scene_files_and_table(client, checkpoint, example_image):
    overlay, glb, files, table, status = predict_image(client, example_image, checkpoint)

    found = int(re.match(r"Found (\d+) person\(s\)", status).group(1))
    assert found >= 1
    assert Image.open(overlay).size == Image.open(example_image).size
    names = sorted(Path(f).name for f in files)
    stem = example_image.stem
    assert names == sorted([f"{stem}.npz", f"{stem}.glb", *(f"{stem}_person{i}.obj" for i in range(found))])

    npz = np.load(next(f for f in files if f.endswith(".npz")), allow_pickle=False)
    assert npz["scores"].shape == (found,) and npz["vertices"].shape[0] == found
    assert tuple(npz["image_size"]) == Image.open(example_image).size
    scene = trimesh.load(glb)
    assert sum(name.startswith("person_") for name in scene.geometry) == found
    assert scene.camera is not None
    obj = trimesh.load(next(f for f in files if f.endswith("_person0.obj")), process=False)
    np.testing.assert_allclose(obj.vertices, npz["vertices"][0], atol=1e-5)

    assert table["headers"] == ["person", "score", "height (m)", "distance (m)"]
    rows = table["data"]
    assert [row[0] for row in rows] == list(range(found))
    np.testing.assert_allclose([row[1] for row in rows], npz["scores"], atol=1e-3)
    np.testing.assert_allclose([row[3] for row in rows], np.linalg.norm(npz["transl_pelvis"], axis=-1), atol=0.01)
    assert all(0.5 < row[2] < 2.5 for row in rows)  # standing height of an adult-sized body


def test_settings_change_the_prediction(client, checkpoint, example_image):
    """A higher threshold keeps a subset; explicit intrinsics replace the field of view in the .npz."""
    *_, files, _, status = predict_image(client, example_image, checkpoint, det_thresh=0.95)
    assert status.startswith("No person found")
    assert np.load(next(f for f in files if f.endswith(".npz")))["scores"].shape == (0,)
    width, height = Image.open(example_image).size
    intrinsics = f"700, 710, {width / 2}, {height / 2}"
    *_, files, _, _ = predict_image(client, example_image, checkpoint, intrinsics=intrinsics)
    K = np.load(next(f for f in files if f.endswith(".npz")))["K"]
    np.testing.assert_allclose(K, [[700, 0, width / 2], [0, 710, height / 2], [0, 0, 1]], rtol=1e-5)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"checkpoint": "/etc/passwd"}, "/etc/passwd is not in the list of choices"),  # no path from a browser
        ({"intrinsics": "500, 500"}, "intrinsics must be four numbers"),
        ({"backend": "tensorflow"}, "tensorflow.* is not in the list of choices"),
        ({"nms_kernel": 4}, "nms kernel must be an odd integer"),
        ({"body_model": "skel"}, "predicts 'smplx' bodies, not 'skel'"),
    ],
)
def test_bad_settings_are_refused_with_a_message(client, checkpoint, example_image, settings, message):
    with pytest.raises(AppError, match=message):
        predict_image(client, example_image, settings.pop("checkpoint", checkpoint), **settings)


def test_non_image_is_refused_with_a_message(client, checkpoint, tmp_path):
    fake = tmp_path / "scan.png"
    fake.write_bytes(b"%PDF-1.4 not an image")
    with pytest.raises(AppError, match="scan.png is not an image that can be read"):
        predict_image(client, fake, checkpoint)


def test_predict_video_returns_overlay_video_and_tracks(client, checkpoint, tmp_path):
    video = write_video(tmp_path / "walk.mp4", frames=6)
    overlay, tracks, status = client.predict(
        handle_file(str(video)), 1, checkpoint, *DEFAULTS.values(), api_name="/predict_video"
    )
    overlay_path = overlay["video"] if isinstance(overlay, dict) else overlay
    with av.open(overlay_path) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == 6
    data = np.load(tracks, allow_pickle=False)
    assert str(data["body_model"]) == "smplx"
    assert status.startswith("6 frames")


def test_empty_video_is_refused_with_a_message(client, checkpoint, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(AppError, match="empty.mp4"):
        client.predict(handle_file(str(empty)), 1, checkpoint, *DEFAULTS.values(), api_name="/predict_video")
