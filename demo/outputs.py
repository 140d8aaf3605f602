"""The files and the summary a request hands back: per-request folders, downloads, the person table."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from hmr.result import ImageResult, Person

TABLE_HEADERS = ["person", "score", "height (m)", "distance (m)"]


class OutputStore:
    """Per-request folders under one private temporary root, removed once Gradio has copied them.

    Gradio copies every file a handler returns into its own cache (which ``delete_cache`` ages
    out), so a request's folder is only needed until the handler has returned; it is removed
    ``keep_s`` seconds later, by the next request. The whole root goes with :meth:`close` or at
    interpreter exit.
    """

    def __init__(self, keep_s: float = 120.0, parent: str | Path | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hmr-demo-", dir=parent))
        self.keep_s = keep_s
        self._released: dict[Path, float] = {}
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.root), ignore_errors=True)

    @contextmanager
    def request(self) -> Iterator[Path]:
        """A fresh folder for one request; released (not yet deleted) when the block ends."""
        self.prune()
        folder = Path(tempfile.mkdtemp(prefix="req-", dir=self.root))
        try:
            yield folder
        finally:
            with self._lock:
                self._released[folder] = time.monotonic()

    def prune(self, now: float | None = None) -> int:
        """Delete released folders older than ``keep_s``; returns how many went."""
        now = time.monotonic() if now is None else now
        with self._lock:
            expired = [f for f, t in self._released.items() if now - t >= self.keep_s]
            for folder in expired:
                del self._released[folder]
        for folder in expired:
            shutil.rmtree(folder, ignore_errors=True)
        return len(expired)

    def close(self) -> None:
        self._finalizer()


def write_downloads(result: ImageResult, folder: Path, stem: str) -> tuple[Path, list[Path]]:
    """``<stem>.npz``, ``<stem>.glb`` (meshes and camera) and one ``.obj`` per person.

    Returns the ``.glb`` (for the 3D view) and every file (for the download list).
    """
    from hmr.render import write_obj

    npz = result.to_npz(folder / f"{stem}.npz")
    glb = result.to_glb(folder / f"{stem}.glb")
    objs = [
        write_obj(folder / f"{stem}_person{i}.obj", person.vertices, result.faces)
        for i, person in enumerate(result.persons)
    ]
    return glb, [npz, glb, *objs]


def standing_heights_m(body: torch.nn.Module | None, persons: Sequence[Person]) -> list[float | None]:
    """Each person's height standing in the body model's rest pose (every rotation zeroed, shape
    kept), since a posed mesh's extent says more about the pose than about the person.

    ``None`` where it cannot be known: no body model at hand (an ONNX graph with the body inside)
    or persons without parameters.
    """
    if body is None or not persons or any(not p.params for p in persons):
        return [None] * len(persons)
    buffers = list(body.buffers())
    device = buffers[0].device if buffers else torch.device("cpu")
    shape_params = {}
    for name, spec in body.param_specs.items():
        if spec.kind in ("rotvec", "angle") or not all(name in p.params for p in persons):
            continue  # left out = the neutral value: zero rotations, mean shape
        stacked = np.stack([np.asarray(p.params[name], np.float32) for p in persons])
        shape_params[name] = torch.from_numpy(stacked).to(device)
    with torch.no_grad():
        vertices = body(**shape_params).vertices  # (P, V, 3), y is the model's vertical axis
    heights = vertices[..., 1].amax(-1) - vertices[..., 1].amin(-1)
    return [float(h) for h in heights.cpu()]


def person_rows(result: ImageResult, heights_m: Sequence[float | None]) -> list[list]:
    """One table row per person: index, detection score, height and distance to the camera (pelvis)."""
    rows = []
    for index, (person, height) in enumerate(zip(result.persons, heights_m)):
        distance = float(np.linalg.norm(np.asarray(person.transl_pelvis, np.float64)))
        rows.append(
            [index, round(float(person.score), 3), None if height is None else round(height, 2), round(distance, 2)]
        )
    return rows
