"""Silence what native libraries print straight to file descriptor 2 while they initialise.

mediapipe's TFLite graphs (absl ``W0000 ... feedback tensors``) and NVIDIA Warp ("could not load the
CUDA driver") write to the C-level stderr on first use, bypassing Python logging, so neither
``logging`` nor ``GLOG_*`` variables reach them. Only initialisation is wrapped: later native
errors stay visible, and Python exceptions propagate as usual.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
