"""The web demo under load: N clients at once against ``python demo/app.py``; latency and server memory.

Without ``--checkpoint`` the server runs the open default pipeline (keypoints + Anny fitting), as a
user gets it. Each round submits one photo request per client at the same moment; the figures are
wall time per round, per-request latency (submit to result, so queueing included) and the server's
resident memory before, at peak and after. ``--screenshot PATH`` also drives headless Chromium
through one photo run and saves the page (this is how ``docs/demo_screenshot.png`` is made).

    .venv/bin/python benchmarks/bench_demo_load.py [--clients 8] [--rounds 3] [--checkpoint PATH]
        [--image examples/lab_three_people.jpg] [--screenshot docs/demo_screenshot.png]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "demo"))
from server_process import DemoServer, rss_mb  # noqa: E402

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class PeakRss:
    """Samples a process's resident memory every 0.1 s in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_mb = max(self.peak_mb, rss_mb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def one_round(clients, image: Path, checkpoint: str) -> tuple[float, list[float]]:
    from gradio_client import handle_file

    started = time.perf_counter()
    jobs = [
        c.submit(handle_file(str(image)), checkpoint, "auto", "torch", 0.3, 3, 60, "", api_name="/predict_image")
        for c in clients
    ]
    latencies: list[float | None] = [None] * len(jobs)
    while any(t is None for t in latencies):
        for i, job in enumerate(jobs):
            if latencies[i] is None and job.done():
                status = job.result()[4]
                if not status.startswith(("Found", "No person")):
                    raise RuntimeError(f"request failed: {status}")
                latencies[i] = time.perf_counter() - started
        time.sleep(0.02)
    return time.perf_counter() - started, latencies


def screenshot(url: str, image: Path, path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("#image-input input[type=file]").set_input_files(str(image))
        page.wait_for_selector("#image-input img")
        page.click("#run-image")
        page.wait_for_function("document.querySelector('#status-line')?.innerText.includes('person')", timeout=300_000)
        page.wait_for_selector("#model3d canvas")
        time.sleep(8.0)  # the software-WebGL viewer needs a few seconds to draw
        png = page.screenshot(full_page=True)
        browser.close()
    # 256 colours (octree keeps the person colours): a quarter of the size, fine for a page of flat UI
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkpoint", help="serve this network (default: the open keypoint-fitting pipeline)")
    parser.add_argument("--models-dir")
    parser.add_argument("--image", type=Path, default=REPO / "examples" / "lab_three_people.jpg")
    parser.add_argument("--screenshot", type=Path, help="also save a browser screenshot of one photo run here")
    args = parser.parse_args()
    from gradio_client import Client

    command = [sys.executable, str(REPO / "demo" / "app.py"), "--device", "cpu", "-q"]
    command += ["--checkpoint", args.checkpoint] if args.checkpoint else []
    command += ["--models-dir", args.models_dir] if args.models_dir else []
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        server = DemoServer(command, Path(tmp), Path(tmp) / "server.log")
        try:
            server.wait_ready(300)
            print(f"server ready in {time.perf_counter() - started:.1f} s, RSS {rss_mb(server.pid):.0f} MiB")
            clients = [Client(server.url, verbose=False) for _ in range(args.clients)]
            endpoint = clients[0].view_api(return_format="dict", print_info=False)["named_endpoints"]
            checkpoint = next(
                p for p in endpoint["/predict_image"]["parameters"] if p["parameter_name"] == "checkpoint"
            )["parameter_default"]
            first_s, _ = one_round(clients[:1], args.image, checkpoint)
            alone = [one_round(clients[:1], args.image, checkpoint)[0] for _ in range(3)]
            print(
                f"first request (loads the model) {first_s:.1f} s; one request alone {statistics.median(alone):.2f} s"
            )
            baseline_mb = rss_mb(server.pid)
            for index in range(args.rounds):
                sampler = PeakRss(server.pid)
                wall_s, latencies = one_round(clients, args.image, checkpoint)
                peak_mb = sampler.stop()
                time.sleep(1.0)
                print(
                    f"round {index + 1}: {args.clients} requests in {wall_s:.1f} s "
                    f"({args.clients / wall_s:.2f} req/s), latency median {statistics.median(latencies):.1f} s "
                    f"max {max(latencies):.1f} s; RSS {baseline_mb:.0f} -> peak {peak_mb:.0f} -> "
                    f"{rss_mb(server.pid):.0f} MiB; server up: {server.alive()}"
                )
            if args.screenshot:
                screenshot(server.url, args.image, args.screenshot)
                print(f"screenshot: {args.screenshot}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
