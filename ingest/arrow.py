"""Arrow arrays to and from NumPy without pandas.

``pyarrow.Array.to_numpy``, ``pyarrow.array`` and ``Table.from_pylist`` import pandas
whenever pandas is installed (they check for pandas' types), which costs about 0.4 s of
every run that reads or writes a table; dosewatch installs pandas only for the Python
API's DataFrames. Here arrays are read from, and built on, their buffers instead (no copy
of numbers without nulls).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

_FLOATS = {"halffloat": np.float16, "float": np.float32, "double": np.float64}


def to_numbers(values: pa.Array | pa.ChunkedArray) -> NDArray:
    """An integer or floating Arrow array as a NumPy array of the same type; with nulls,
    as float64 with NaN for each null. Other types are cast to float64 (Arrow's rules)."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return to_numbers(values.chunk(0))
        parts = [to_numbers(c) for c in values.chunks]
        return np.concatenate(parts) if parts else np.zeros(0)
    kind = values.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)) or values.null_count:
        values = pc.fill_null(pc.cast(values, pa.float64(), safe=False), np.nan)
        kind = values.type
    dtype = np.dtype(_FLOATS.get(str(kind), str(kind)))
    return np.frombuffer(values.buffers()[1], dtype=dtype, count=len(values),
                         offset=values.offset * dtype.itemsize)


def to_flags(values: pa.Array | pa.ChunkedArray) -> NDArray[np.bool_]:
    """A boolean Arrow array as a NumPy array (nulls as False)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count:
        values = pc.fill_null(values, False)
    bits = np.frombuffer(values.buffers()[1], dtype=np.uint8)
    end = values.offset + len(values)
    return np.unpackbits(bits, count=end, bitorder="little")[values.offset:].astype(bool)


def _validity(valid: NDArray[np.bool_] | None) -> pa.Buffer | None:
    if valid is None or valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def from_numbers(values: NDArray, valid: NDArray[np.bool_] | None = None) -> pa.Array:
    """A NumPy array of numbers (or booleans) as an Arrow array; ``valid`` False marks a
    null."""
    values = np.ascontiguousarray(values)
    n = len(values)
    if values.dtype == np.bool_:
        data = pa.py_buffer(np.packbits(values, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), n, [_validity(valid), data])
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, n, [_validity(valid), pa.py_buffer(values)])


def from_texts(texts: Sequence[str | None]) -> pa.Array:
    """Python strings (None: null) as an Arrow string array."""
    encoded = [b"" if t is None else t.encode("utf-8") for t in texts]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    valid = np.fromiter((t is not None for t in texts), dtype=bool, count=len(texts))
    return pa.Array.from_buffers(pa.large_string(), len(encoded),
                                 [_validity(valid), pa.py_buffer(offsets),
                                  pa.py_buffer(b"".join(encoded))]).cast(pa.string())
