"""Keep native libraries' chatter off the user's terminal, at the file-descriptor level.

mediapipe's graphs (absl ``W0000 ... inference_feedback_manager.cc:114] Feedback manager ...``,
``INFO: Created TensorFlow Lite XNNPACK delegate``) and NVIDIA Warp (``Warp CUDA warning: Could
not find ... driver``, its start-up banner) write straight to file descriptor 2 from C++ threads,
at any time a graph or kernel is first used. absl's C++ log level cannot be set from Python before
``absl::InitializeLog`` (mediapipe never calls it) and ``GLOG_*`` variables do not reach absl, so
the one place to catch them is the descriptor: :func:`filtered_stderr` points fd 2 at a pipe and
a thread forwards everything to the real stderr except those lines. Errors (absl ``E``/``F``
lines), Python tracebacks, warnings and progress bars pass through unchanged.

``HMR_NATIVE_LOGS=1`` turns the filter off, to see everything while debugging.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import sys
import threading
from collections.abc import Iterator

#: whole lines that are native libraries talking about themselves, not about the user's input
NOISE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]]+\] .*"  # absl / glog INFO and WARNING (absl: epoch s)
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|INFO: Created TensorFlow Lite .*"  # TFLite delegate announcements
    rb"|Warp CUDA (?:warning|error): .*"  # Warp without a GPU driver
    rb"|Warp \d[\w.]* initialized:"  # Warp's banner and its indented detail lines
    rb"|   (?:CUDA Toolkit|Devices:|Kernel cache:| +\"cpu\" +: |  +/).*"
    rb")\r?$"
)
#: a partial line that may still become a noise line: held back until its end arrives
_MAYBE_NOISE = re.compile(rb"^(?:[IW]\d{0,4}|INFO|Warp|   )")
_HOLD_S = 0.2  # a held partial line is forwarded after this long (a prompt or a progress bar)


def is_noise(line: bytes) -> bool:
    return NOISE.match(line.rstrip(b"\n")) is not None


class _Forwarder(threading.Thread):
    """Copies the pipe to the real stderr, dropping :data:`NOISE` lines."""

    def __init__(self, read_fd: int, out_fd: int) -> None:
        super().__init__(name="hmr-stderr-filter", daemon=True)
        self.read_fd, self.out_fd = read_fd, out_fd

    def run(self) -> None:
        pending = b""
        while True:
            ready, _, _ = select.select([self.read_fd], [], [], _HOLD_S if pending else None)
            if not ready:  # a held partial line stayed partial: it is not a log line
                self._write(pending)
                pending = b""
                continue
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                self._write(pending)
                return
            pending = self._forward_lines(pending + chunk)

    def _forward_lines(self, data: bytes) -> bytes:
        """Write the complete lines of ``data`` that are not noise; return what is held back."""
        *lines, rest = data.split(b"\n")
        self._write(b"".join(line + b"\n" for line in lines if not is_noise(line)))
        if rest and not _MAYBE_NOISE.match(rest):
            self._write(rest)
            return b""
        return rest

    def _write(self, data: bytes) -> None:
        while data:
            data = data[os.write(self.out_fd, data) :]


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Run the block with fd 2 filtered (see the module docstring); restored and drained on exit."""
    if os.environ.get("HMR_NATIVE_LOGS") == "1":
        yield
        return
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    forwarder = _Forwarder(read_fd, real_stderr)
    forwarder.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # closes the pipe's last write end in this process: the reader sees EOF
        forwarder.join(timeout=5)
        os.close(read_fd)
        os.close(real_stderr)
