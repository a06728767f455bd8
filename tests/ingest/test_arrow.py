"""Arrow arrays to NumPy without pandas (ingest/arrow.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from dosewatch.ingest.arrow import to_flags, to_numbers
from dosewatch.ingest.formats.interchange import write_session_folder
from dosewatch.session import build_session


def test_numbers_keep_their_type_and_nulls_become_nan() -> None:
    ints = pa.array(np.arange(10, dtype=np.uint16)).slice(3, 4)
    got = to_numbers(ints)
    assert got.dtype == np.uint16 and got.tolist() == [3, 4, 5, 6]
    floats = pa.array([1.5, None, 2.5], pa.float32())
    np.testing.assert_array_equal(to_numbers(floats), [1.5, np.nan, 2.5])
    assert to_numbers(pa.array([1, None, 3])).dtype == np.float64
    chunked = pa.chunked_array([[1.0, 2.0], [3.0]])
    assert to_numbers(chunked).tolist() == [1.0, 2.0, 3.0]
    assert to_numbers(pa.array(["1.5", "2"])).tolist() == [1.5, 2.0]


def test_flags_unpack_bits_at_any_offset_and_nulls_are_false() -> None:
    values = [True, False, None, True, True, False, False, True, True, None, True]
    array = pa.array(values)
    assert to_flags(array).tolist() == [bool(v) for v in values]
    assert to_flags(array.slice(3, 7)).tolist() == [bool(v) for v in values[3:10]]


def test_reading_a_session_imports_no_pandas(tmp_path: Path) -> None:
    """pyarrow's to_numpy imports pandas (0.4 s) when it is installed; reading must not."""
    t = np.arange(600.0)
    session = build_session("s", hr=(t, 120 + 0 * t),
                            acc=(t, np.tile([0.0, 0.0, 1.0], (600, 1)).astype(np.float32)))
    write_session_folder(session, tmp_path / "pq", format="parquet")
    write_session_folder(session, tmp_path / "csv", format="csv")
    code = ("import sys, dosewatch\n"
            f"for folder in ({str(tmp_path / 'pq')!r}, {str(tmp_path / 'csv')!r}):\n"
            "    dosewatch.read(folder)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pandas')[:3])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout
