"""Arrow arrays to NumPy without pandas.

``pyarrow.Array.to_numpy`` imports pandas whenever pandas is installed (it checks for
pandas' extension types), which costs about 0.4 s of every run that reads a Parquet or
CSV file; dosewatch installs pandas for the Python API's DataFrames. Numbers are read
here straight from the array's data buffer instead (no copy when there are no nulls).
"""

from __future__ import annotations

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
