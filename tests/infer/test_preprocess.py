import numpy as np
import pytest
from PIL import Image

from hmr.errors import HmrError
from hmr.infer.preprocess import MAX_DISPLAY_SIDE, Letterbox, load_image, prepare, resolve_K


def gradient(width: int, height: int) -> np.ndarray:
    x = np.linspace(0, 255, width)[None, :, None]
    y = np.linspace(0, 255, height)[:, None, None]
    return np.concatenate(
        [
            np.broadcast_to(x, (height, width, 1)),
            np.broadcast_to(y, (height, width, 1)),
            np.full((height, width, 1), 128.0),
        ],
        -1,
    ).astype(np.uint8)


def test_letterbox_pads_centred_and_maps_back():
    box = Letterbox.fit(640, 480, 448)
    assert box.resized_size == (448, 336) and box.pad_xy == (0, 56)
    points = np.array([[0.0, 0.0], [640.0, 480.0], [123.4, 56.7]])
    net = points * np.array(box.scale_xy) + np.array(box.pad_xy)
    assert np.allclose(box.points_to_orig(net), points)
    K_net = box.K_to_net(resolve_K(640, 480))
    assert K_net[0, 2] == pytest.approx(224.0) and K_net[1, 2] == pytest.approx(224.0)
    assert K_net[0, 0] == pytest.approx(448 / (2 * np.tan(np.radians(30))))


def test_prepare_non_square_has_black_bars():
    prepared = prepare(gradient(300, 200), 112)
    assert prepared.pixels.shape == (112, 112, 3)
    top_bar = prepared.pixels[: prepared.letterbox.pad_xy[1]]
    assert top_bar.max() == 0 and prepared.pixels[56].max() > 0
    assert prepared.letterbox.image_size == (300, 200)


def test_exif_rotation_is_applied(tmp_path):
    image = Image.fromarray(gradient(200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    loaded = load_image(path)
    assert loaded.size == (100, 200)
    prepared = prepare(path, 112)
    assert prepared.letterbox.image_size == (100, 200)
    assert prepared.K_orig[0, 2] == pytest.approx(50) and prepared.K_orig[1, 2] == pytest.approx(100)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "I;16", "I", "F", "1"])
def test_odd_modes_become_rgb(tmp_path, mode):
    base = Image.fromarray(gradient(64, 48))
    if mode == "I;16":
        image = Image.fromarray((np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16))
    elif mode == "F":
        image = Image.fromarray(np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64))
    else:
        image = base.convert(mode)
    suffix = ".tif" if mode in ("I;16", "I", "F", "CMYK") else ".png"
    path = tmp_path / f"img{suffix}"
    image.save(path)
    rgb = np.asarray(load_image(path))
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8
    assert rgb.max() > 100  # content survived the conversion (not all black)


def test_rgba_transparent_is_black():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255  # red but fully transparent
    assert np.asarray(load_image(rgba)).max() == 0


def test_16bit_array_scaled():
    arr = np.full((8, 8, 3), 65535, np.uint16)
    assert np.asarray(load_image(arr)).min() == 255


def test_unreadable_file_is_one_line_error(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(HmrError) as info:
        load_image(bad)
    assert "notes.jpg" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(HmrError, match="no such file"):
        load_image(tmp_path / "missing.png")


def test_huge_jpeg_is_decoded_small_but_geometry_kept(tmp_path):
    path = tmp_path / "huge.jpg"
    Image.fromarray(gradient(10000, 6000)).save(path, quality=70)
    prepared = prepare(path, 112)
    assert max(prepared.display.shape[:2]) <= MAX_DISPLAY_SIDE
    assert prepared.letterbox.image_size == (10000, 6000)
    assert prepared.K_orig[0, 2] == pytest.approx(5000)
    scale = prepared.display.shape[1] / 10000
    assert prepared.K_display[0, 0] == pytest.approx(prepared.K_orig[0, 0] * scale, rel=1e-3)


def test_bad_intrinsics_and_fov():
    with pytest.raises(HmrError, match="intrinsics"):
        resolve_K(10, 10, K=np.zeros((3, 3)))
    with pytest.raises(HmrError, match="fov"):
        resolve_K(10, 10, fov=0.0)
