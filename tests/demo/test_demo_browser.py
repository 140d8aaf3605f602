"""The demo page driven in headless Chromium: a photo run end to end, a bad upload, the live webcam.

Every request the page makes outside the loopback address is blocked and recorded: the page must
render and work without any of them (no CDN, fonts or analytics).
"""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser  # drives headless Chromium


def open_demo(browser, url: str):
    """A new page on the demo; returns it and the list of off-machine requests it attempted."""
    page = browser.new_page()
    external: list[str] = []

    def only_loopback(route):
        request_url = route.request.url
        if request_url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            external.append(request_url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(url)
    page.wait_for_selector("#run-image", timeout=60_000)
    return page, external


def coloured_fraction(png: bytes) -> float:
    """Share of clearly coloured (non-grey) pixels, below the top sixth where the label floats."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), np.int16)
    pixels = pixels[pixels.shape[0] // 6 :]
    return float((pixels.max(-1) - pixels.min(-1) > 30).mean())


def wait_for_3d_model(page, timeout_s: float = 90.0) -> float:
    """The 3D viewer draws the meshes (WebGL in software here: a few seconds)."""
    page.wait_for_selector("#model3d canvas", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    fraction = 0.0
    while time.monotonic() < deadline:
        fraction = coloured_fraction(page.locator("#model3d canvas").screenshot())
        if fraction > 0.01:
            return fraction
        time.sleep(1.0)
    raise AssertionError(f"the 3D view stayed empty ({fraction:.4f} coloured) after {timeout_s} s")


def test_photo_run_shows_overlay_table_downloads_and_3d_model(browser, demo_server, example_image, tmp_path):
    page, external = open_demo(browser, demo_server.url)
    page.locator("#image-input input[type=file]").set_input_files(str(example_image))
    page.wait_for_selector("#image-input img", timeout=30_000)
    page.click("#run-image")

    page.wait_for_function("document.querySelector('#status-line')?.innerText.includes('person(s)')", timeout=120_000)
    status = page.inner_text("#status-line")
    found = int(re.search(r"Found (\d+) person", status).group(1))
    assert found >= 1, status
    # the <img> appears before its picture has loaded: wait for the decoded picture, not the element
    page.wait_for_function(
        "(() => { const img = document.querySelector('#overlay img');"
        " return img !== null && img.complete && img.naturalWidth > 0; })()",
        timeout=30_000,
    )
    width_px = page.locator("#overlay img").evaluate("img => img.naturalWidth")
    assert width_px == Image.open(example_image).width  # drawn on the full-size photo

    assert page.locator("#persons [role=row]").count() == found + 1  # a header row, then one per person
    downloads = re.sub(r"\s+(\.\w+)", r"\1", page.inner_text("#downloads"))  # name and suffix sit in two spans
    stem = example_image.stem
    for name in (f"{stem}.npz", f"{stem}.glb", f"{stem}_person0.obj", f"{stem}_person{found - 1}.obj"):
        assert name in downloads

    assert wait_for_3d_model(page) > 0.01
    shot = tmp_path / "demo_image_tab.png"
    page.screenshot(path=str(shot), full_page=True)
    assert Image.open(shot).size[0] == 1400  # docs/demo_screenshot.png comes from benchmarks/bench_demo_load.py
    assert external == [], f"the page tried to reach the internet: {external}"
    page.close()


def test_non_image_upload_shows_a_message_not_a_trace(browser, demo_server, tmp_path):
    fake_photo = tmp_path / "holiday.jpg"  # passes the browser's image/* filter, fails on the server
    fake_photo.write_text("these are notes, not pixels\n")
    page, external = open_demo(browser, demo_server.url)
    page.locator("#image-input input[type=file]").set_input_files(str(fake_photo))
    time.sleep(1.0)  # let the upload finish
    page.click("#run-image")

    message = page.get_by_text("holiday.jpg is not an image that can be read")
    message.wait_for(timeout=60_000)
    body = page.inner_text("body")
    assert "Traceback" not in body and "UnidentifiedImageError" not in body
    assert "Found" not in page.inner_text("#status-line")  # nothing pretended to succeed
    assert demo_server.alive()
    assert external == []
    page.close()


def test_live_tab_streams_the_webcam_and_shows_frames_per_second(browser, demo_server):
    page, external = open_demo(browser, demo_server.url)
    page.get_by_role("tab", name="Live").click()
    page.get_by_text("on a CPU expect a few frames per second").wait_for(timeout=10_000)
    page.locator("#webcam [title='grant webcam access'] button").click()
    page.locator("#webcam button[aria-label='capture photo']").click()  # starts streaming

    page.wait_for_function(
        "() => { const m = (document.querySelector('#live-fps')?.innerText || '').match(/([0-9.]+) frames\\/s/);"
        " return m && parseFloat(m[1]) > 0; }",
        timeout=240_000,
    )
    fps_line = page.inner_text("#live-fps")
    assert re.search(r"\d+ person\(s\), \d+x\d+ px", fps_line), fps_line
    page.wait_for_function(
        "[...document.querySelectorAll('#live-output img')].some(img => img.naturalWidth > 0)", timeout=30_000
    )  # the overlay frames arrive (each replaces the last)
    assert external == []
    page.close()


def test_settings_tab_offers_the_installed_body_models(browser, demo_server):
    page, external = open_demo(browser, demo_server.url)
    page.get_by_role("tab", name="Settings").click()
    page.locator("#body-model input").click()
    options = page.get_by_role("option").all_inner_texts()
    assert {"as the checkpoint predicts", "anny", "smplx", "skel"} <= {o.strip("✓ \n") for o in options}, options
    assert "Device: cpu" in page.inner_text("#server-note")
    assert external == []
    page.close()
