"""Arrow arrays to NumPy without pandas (ingest/arrow.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from dosewatch.ingest.arrow import from_numbers, from_texts, to_flags, to_numbers
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


def test_text_and_numbers_become_arrow_arrays_with_their_nulls() -> None:
    values = np.array([1.5, np.nan, 3.0])
    built = from_numbers(values, np.isfinite(values))
    assert built.type == pa.float64() and built.to_pylist() == [1.5, None, 3.0]
    assert from_numbers(np.array([True, False])).to_pylist() == [True, False]
    assert from_numbers(np.arange(3, dtype=np.int64)).to_pylist() == [0, 1, 2]
    assert from_texts(["a", None, "ü", ""]).to_pylist() == ["a", None, "ü", ""]


def test_reading_and_analysing_import_no_pandas(tmp_path: Path) -> None:
    """pyarrow's to_numpy, pa.array and from_pylist import pandas (0.4 s) when it is
    installed; reading and ``dosewatch analyze`` must not."""
    t = np.arange(600.0)
    session = build_session("s", hr=(t, 120 + 0 * t),
                            acc=(t, np.tile([0.0, 0.0, 1.0], (600, 1)).astype(np.float32)))
    write_session_folder(session, tmp_path / "pq", format="parquet")
    write_session_folder(session, tmp_path / "csv", format="csv")
    code = ("import sys, dosewatch\n"
            f"for folder in ({str(tmp_path / 'pq')!r}, {str(tmp_path / 'csv')!r}):\n"
            "    dosewatch.read(folder)\n"
            f"dosewatch.analyze_batch([{str(tmp_path / 'pq')!r}], {str(tmp_path / 'out')!r},"
            " progress=False, pictures=False)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pandas')[:3])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout
