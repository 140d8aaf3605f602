"""Load check: 8 clients at once queue behind the concurrency limit, all finish, the server stays up
and its memory comes back to where it was."""

from __future__ import annotations

import time

import pytest
from gradio_client import Client, handle_file
from gradio_client.utils import Status
from server_process import rss_mb

pytestmark = pytest.mark.slow  # starts demo servers

CLIENTS = 8
ROUNDS = 2
#: allowed RSS growth over the warmed-up baseline after all rounds (allocator slack, not a leak)
MEMORY_SLACK_MB = 100.0


def run_round(clients: list[Client], image, checkpoint: str) -> tuple[list, set]:
    """Submit one request per client at once; returns the outputs and every status code seen."""
    jobs = [
        c.submit(handle_file(str(image)), checkpoint, "auto", "torch", 0.3, 3, 60, "", api_name="/predict_image")
        for c in clients
    ]
    seen: set = set()
    while not all(job.done() for job in jobs):
        seen.update(job.status().code for job in jobs)
        time.sleep(0.05)
    return [job.result(timeout=300) for job in jobs], seen


def test_eight_concurrent_requests_queue_finish_and_leave_memory_flat(demo_server, example_image):
    clients = [Client(demo_server.url, verbose=False) for _ in range(CLIENTS)]
    params = clients[0].view_api(return_format="dict", print_info=False)["named_endpoints"]["/predict_image"]
    checkpoint = next(p for p in params["parameters"] if p["parameter_name"] == "checkpoint")["parameter_default"]
    run_round(clients[:2], example_image, checkpoint)  # warm-up: model loaded, allocator primed
    baseline_mb = rss_mb(demo_server.pid)

    after_mb = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        outputs, seen = run_round(clients, example_image, checkpoint)
        seconds = time.perf_counter() - started
        statuses = [out[4] for out in outputs]
        assert all(s.startswith("Found") for s in statuses), statuses
        assert Status.IN_QUEUE in seen  # one at a time on this CPU: the others waited their turn
        assert demo_server.alive()
        time.sleep(1.0)
        after_mb.append(rss_mb(demo_server.pid))
        print(f"{CLIENTS} concurrent requests in {seconds:.1f} s; RSS {baseline_mb:.0f} -> {after_mb[-1]:.0f} MiB")
    assert after_mb[-1] - baseline_mb < MEMORY_SLACK_MB, (baseline_mb, after_mb)
