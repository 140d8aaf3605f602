"""``<stem>_tracks.npz``: every tracked person of a video, one row per (track, frame).

Layout (loadable with ``np.load(path, allow_pickle=False)``):

- rows, sorted by track then frame: ``track_id (N,)``, ``frame_index (N,)`` (decoded-frame index
  in the source), ``time_s (N,)`` (presentation time), ``score``, ``loc (N,2)`` px, ``transl
  (N,3)`` m, ``transl_pelvis``, ``rotvec (N,J,3)``, ``betas``, ``expression``, ``joints_3d
  (N,K,3)``, ``joints_2d (N,K,2)`` px, ``param_<name>`` (the body model's own blocks) and, with
  meshes, ``vertices (N,V,3)`` plus ``faces (F,3)``;
- ``row_fields``: the names of the row arrays above;
- tracks: ``track_ids (T,)``, ``track_start (T,)``, ``track_length (T,)``: track ``i``'s rows are
  ``track_start[i] : track_start[i] + track_length[i]``;
- video: ``video_frame_index (F,)`` and ``video_time_s (F,)`` of every processed frame (with or
  without people), ``K``, ``image_size`` (W, H), ``body_model``, ``fps``, ``smooth`` and, when an
  overlay was written, ``overlay_start_s``: the overlay plays from 0 s, so its time t is source
  time ``t + overlay_start_s`` (non-zero with ``--start``).
- with nobody seen in any frame, every row field is still there with zero rows and its true
  trailing shape.

Rows are spooled to disk while the video runs, so memory stays flat however long it is, and are
sorted into track order when the file is written.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from hmr.atomic import atomic_path
from hmr.result import ImageResult

_ROW_FIELDS = ("loc", "transl", "transl_pelvis", "rotvec", "betas", "expression", "joints_3d", "joints_2d")
_FLUSH_ROWS = 256
_COPY_ROWS = 4096


class _ColumnSpool:
    """Append-only columns on disk: each key holds rows of one dtype and trailing shape."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rows = 0
        self._layout: dict[str, tuple[np.dtype, tuple[int, ...]]] = {}
        self._pending: dict[str, list[np.ndarray]] = {}
        self._pending_rows = 0

    def append(self, columns: dict[str, np.ndarray], rows: int) -> None:
        if self._layout and set(columns) != set(self._layout):
            raise ValueError(f"row fields changed mid-video: {sorted(set(columns) ^ set(self._layout))}")
        for name, values in columns.items():
            values = np.ascontiguousarray(values)
            layout = (values.dtype, values.shape[1:])
            if self._layout.setdefault(name, layout) != layout:
                raise ValueError(f"{name}: rows changed from {self._layout[name]} to {layout} mid-video")
            self._pending.setdefault(name, []).append(values)
        self._pending_rows += rows
        if self._pending_rows >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        for name, chunks in self._pending.items():
            with open(self.folder / f"{name}.bin", "ab") as fh:
                for chunk in chunks:
                    fh.write(chunk.tobytes())
        self.rows += self._pending_rows
        self._pending, self._pending_rows = {}, 0

    def column(self, name: str) -> np.ndarray:
        """``(rows, ...)``, memory-mapped."""
        dtype, shape = self._layout[name]
        if self.rows == 0 or int(np.prod(shape)) == 0:
            return np.zeros((self.rows, *shape), dtype)
        return np.memmap(self.folder / f"{name}.bin", dtype=dtype, mode="r", shape=(self.rows, *shape))

    @property
    def names(self) -> list[str]:
        return list(self._layout)


class TrackRecorder:
    """Collects tracked persons frame by frame; :meth:`write` produces the ``_tracks.npz``.

    Use as a context manager: the spool folder (beside the output, not in /tmp, since meshes of
    a long video can be large) is removed on exit, Ctrl-C included.
    """

    def __init__(self, out_dir: str | Path, save_meshes: bool = False) -> None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        self._folder = Path(tempfile.mkdtemp(prefix=".tracks-spool-", dir=out_dir))
        self._spool = _ColumnSpool(self._folder)
        self.save_meshes = save_meshes
        self._frame_index: list[int] = []
        self._frame_time_s: list[float] = []
        self._faces: np.ndarray | None = None
        self.track_ids: set[int] = set()

    def __enter__(self) -> TrackRecorder:
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

    @property
    def num_frames(self) -> int:
        return len(self._frame_index)

    @property
    def first_time_s(self) -> float:
        """Source time of the first processed frame (where an overlay video starts)."""
        return self._frame_time_s[0] if self._frame_time_s else 0.0

    def add_frame(self, frame_index: int, time_s: float, result: ImageResult) -> None:
        """Record one processed frame; a frame with nobody in it still fixes the row schema, so a
        video where nobody is seen writes every field with zero rows and its true trailing shape."""
        self._frame_index.append(frame_index)
        self._frame_time_s.append(time_s)
        stacked = result.stacked()
        count = len(result.persons)
        columns = {
            "track_id": stacked["track_id"],
            "frame_index": np.full(count, frame_index, np.int64),
            "time_s": np.full(count, time_s, np.float64),
            "score": stacked["scores"],
        }
        fields = _ROW_FIELDS + ("vertices",) if self.save_meshes else _ROW_FIELDS
        columns.update({name: stacked[name] for name in fields})
        columns.update({name: value for name, value in stacked.items() if name.startswith("param_")})
        if self.save_meshes:
            self._faces = np.asarray(result.faces, np.int64)
        self._spool.append(columns, count)
        self.track_ids.update(int(t) for t in columns["track_id"])

    def write(self, path: str | Path, meta: dict[str, np.ndarray]) -> Path:
        """Write the ``.npz`` atomically; ``meta`` adds per-video arrays (K, image_size, ...)."""
        self._spool.flush()
        rows = self._spool.rows
        track_id = np.asarray(self._spool.column("track_id")) if rows else np.zeros(0, np.int64)
        frame_index = np.asarray(self._spool.column("frame_index")) if rows else np.zeros(0, np.int64)
        order = np.lexsort((frame_index, track_id))
        track_ids, track_start, track_length = np.unique(track_id[order], return_index=True, return_counts=True)
        arrays = {
            "track_ids": track_ids.astype(np.int64),
            "track_start": track_start.astype(np.int64),
            "track_length": track_length.astype(np.int64),
            "video_frame_index": np.asarray(self._frame_index, np.int64),
            "video_time_s": np.asarray(self._frame_time_s, np.float64),
            **{name: np.asarray(value) for name, value in meta.items()},
        }
        if self._faces is not None:
            arrays["faces"] = self._faces
        if not self._spool.names:  # no frame at all: the index columns alone, empty
            arrays.update(
                track_id=np.zeros(0, np.int64), frame_index=np.zeros(0, np.int64), time_s=np.zeros(0, np.float64)
            )
        arrays["row_fields"] = np.asarray(self._spool.names or ["track_id", "frame_index", "time_s"])
        with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, value in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, value, allow_pickle=False)
            for name in self._spool.names:
                column = self._spool.column(name)
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    header = {
                        "descr": np.lib.format.dtype_to_descr(column.dtype),
                        "fortran_order": False,
                        "shape": column.shape,
                    }
                    np.lib.format.write_array_header_2_0(member, header)
                    for start in range(0, rows, _COPY_ROWS):
                        member.write(np.ascontiguousarray(column[order[start : start + _COPY_ROWS]]).tobytes())
        return Path(path)


def load_tracks(path: str | Path) -> dict[int, dict[str, np.ndarray]]:
    """``{track_id: {field: rows of that track}}`` from a ``_tracks.npz``; per-video arrays are left out."""
    with np.load(path, allow_pickle=False) as data:
        rows = {str(k): data[str(k)] for k in data["row_fields"]}
        return {
            int(tid): {k: v[start : start + length] for k, v in rows.items()}
            for tid, start, length in zip(data["track_ids"], data["track_start"], data["track_length"])
        }
