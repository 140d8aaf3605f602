"""Write pickles the way Python 2 did, so tests read them as the real 3DPW files are read.

Python 2 stored ``str`` as byte strings (BINSTRING opcodes) and numpy arrays through
``numpy.core.multiarray._reconstruct`` with the raw buffer as such a string; Python 3 can only
read them with ``encoding='latin1'``. Python 3's own protocol 2 writes neither, hence this pickler.
"""

from __future__ import annotations

import io
import pickle
import struct

import numpy as np


class Py2Pickler(pickle._Pickler):
    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    def _global(self, module: str, name: str) -> None:
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())

    def _save_dtype(self, dtype: np.dtype) -> None:
        self._global("numpy", "dtype")
        self.save((dtype.str[1:], 0, 1))
        self.write(pickle.REDUCE)
        self.save((3, dtype.str[0] if dtype.str[0] in "<>" else "|", None, None, None, -1, -1, 0))
        self.write(pickle.BUILD)

    def _save_ndarray(self, arr: np.ndarray) -> None:
        arr = np.ascontiguousarray(arr)
        self._global("numpy.core.multiarray", "_reconstruct")
        self._global("numpy", "ndarray")
        self.save((0,))
        self.save(b"b")
        self.write(pickle.TUPLE3 + pickle.REDUCE)
        self.write(pickle.MARK)
        self.save(1)
        self.save(tuple(arr.shape))
        self._save_dtype(arr.dtype)
        self.save(False)
        self._save_py2_str(arr.tobytes())
        self.write(pickle.TUPLE + pickle.BUILD)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str
    dispatch[np.ndarray] = _save_ndarray


def dumps_py2(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()
