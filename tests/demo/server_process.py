"""A demo server in a subprocess, started the way a user starts it, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for pid {pid}")


class DemoServer:
    """A demo started by ``command`` in a subprocess whose temporary files all go to ``tmp_dir``."""

    def __init__(self, command: list[str], tmp_dir: Path, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.tmp_dir = tmp_dir
        self.log_path = log_path
        env = {
            **os.environ,
            "TMPDIR": str(tmp_dir),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
        }
        self._log = open(log_path, "w")
        self.process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        """The process runs and its page answers."""
        if self.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(self.url, timeout=10) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout_s: float = 120.0) -> DemoServer:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"demo server exited with {self.process.returncode}:\n{self.log()}")
            if self.alive():
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"demo server not ready after {timeout_s} s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        """Ask it to stop as a service manager would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode
