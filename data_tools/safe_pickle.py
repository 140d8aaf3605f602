"""Loading dataset pickles without running arbitrary code.

Several sources ship labels as pickles (3DPW sequence files from Python 2, EMDB, AGORA
dataframes, the ``data.pyd`` members of 4D-Humans shards). A pickle may name any callable, so
we resolve only an allow-list of data-building names (numpy arrays and scalars, a few builtins,
pandas frames, torch tensors) and refuse everything else with a clear error.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from hmr.errors import HmrError

_NUMPY = {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")}
_NUMPY |= {
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}
_BUILTINS = {(m, n) for m in ("builtins", "__builtin__") for n in ("set", "frozenset", "slice", "bytearray", "complex")}
_BUILTINS |= {("collections", "OrderedDict"), ("_codecs", "encode")}
_TORCH = {("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")}
_PANDAS = {
    ("pandas", "DataFrame"),
    ("pandas.core.frame", "DataFrame"),
    ("pandas", "Series"),
    ("pandas.core.series", "Series"),
    ("pandas.core.internals.managers", "BlockManager"),
    ("pandas.core.internals.managers", "SingleBlockManager"),
    ("pandas._libs.internals", "_unpickle_block"),
    ("pandas.core.indexes.base", "_new_Index"),
    ("pandas.core.indexes.base", "Index"),
    ("pandas", "Index"),
    ("pandas", "RangeIndex"),
    ("pandas.core.indexes.range", "RangeIndex"),
    ("pandas.arrays", "ArrowStringArray"),
    ("pandas", "StringDtype"),
    ("pyarrow.lib", "_restore_array"),
    ("pyarrow.lib", "type_for_alias"),
    ("pyarrow.lib", "py_buffer"),
}
ALLOWED = _NUMPY | _BUILTINS | _TORCH


def _torch_storage_from_bytes(data: bytes) -> Any:
    """Replacement for ``torch.storage._load_from_bytes``, which would unpickle without limits."""
    import torch

    return torch.load(io.BytesIO(data), weights_only=True)


_REPLACED = {("torch.storage", "_load_from_bytes"): _torch_storage_from_bytes}


def _refuse(module: str, name: str, where: str) -> HmrError:
    return HmrError(
        f"{where}: the pickle asks for {module}.{name}, which is not on the allow-list of plain "
        "data types; refusing to run it (is this the right file?)"
    )


class _Restricted(pickle.Unpickler):
    where = "pickle"

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _REPLACED:
            return _REPLACED[(module, name)]
        if (module, name) not in ALLOWED:
            raise _refuse(module, name, self.where)
        return super().find_class(module, name)


def loads(data: bytes, where: str = "pickle", encoding: str = "ASCII") -> Any:
    """Unpickle plain data (dicts, lists, numpy arrays, torch tensors). ``encoding='latin1'`` for Python 2."""
    unpickler = _Restricted(io.BytesIO(data), encoding=encoding)
    unpickler.where = where
    try:
        return unpickler.load()
    except HmrError:
        raise
    except Exception as e:
        raise HmrError(f"{where}: cannot read the pickle ({type(e).__name__}: {e}); the file may be truncated") from e


def load(path: str | Path, encoding: str = "ASCII") -> Any:
    return loads(Path(path).read_bytes(), str(path), encoding)


def load_dataframe(path: str | Path) -> Any:
    """Unpickle a pandas DataFrame, including ones written by old pandas versions."""
    from pandas.compat.pickle_compat import Unpickler as PandasCompat

    allowed = ALLOWED | _PANDAS

    class _RestrictedPandas(PandasCompat):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) in _REPLACED:
                return _REPLACED[(module, name)]
            if (module, name) not in allowed and (module, name) not in _pandas_renames(allowed):
                raise _refuse(module, name, str(path))
            return super().find_class(module, name)

    try:
        with open(path, "rb") as f:
            return _RestrictedPandas(f, encoding="latin1").load()
    except HmrError:
        raise
    except Exception as e:
        raise HmrError(f"{path}: cannot read the dataframe pickle ({type(e).__name__}: {e})") from e


def _pandas_renames(allowed: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Old pandas names that pandas' own compatibility map sends onto allowed ones."""
    from pandas.compat import pickle_compat

    renames = getattr(pickle_compat, "_class_locations_map", {})
    return {old for old, new in renames.items() if new in allowed}
