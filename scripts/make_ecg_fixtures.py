"""Write the real-ECG EDF test files and their expected beats, from public PhysioNet
recordings with expert beat annotations (not from dosewatch).

- ``tests/data/edf/adfecgdb_r01_direct.edf``: record r01 of the Abdominal and Direct Fetal
  ECG Database (PhysioNet ``adfecgdb`` 1.0.0, ODC-By 1.0): its direct (fetal scalp) ECG
  ``Direct_1`` at 1 kHz and its ``EDF Annotations`` signal, 5 minutes, byte for byte as in
  the original EDF+ file (the four abdominal channels are left out to keep it small).
  Reference beats: the database's expert-verified fetal QRS annotations
  (``r01.edf.qrs``).
- ``tests/data/edf/mitdb100_mlii.edf``: the first 10 minutes of record 100 of the MIT-BIH
  Arrhythmia Database (PhysioNet ``mitdb`` 1.0.0, ODC-By 1.0), lead MLII at 360 Hz, its
  11-bit samples written unchanged into EDF+ by pyedflib (gain 200 per mV). Reference
  beats: the cardiologists' beat annotations (``100.atr``).

For each, ``tests/data/edf/expected/<file>.beats.npz`` holds ``reference`` (the annotated
beats, seconds from the file's start), ``xqrs`` (the beats wfdb's ``xqrs_detect``, an
established detector, finds in the same samples: a second opinion, not the truth),
``minute_bpm`` (per whole minute, ``60 / mean RR`` of the reference intervals that end in
it, those within 30-220 bpm) and ``fs``; and ``expected/<file>.npz`` what pyedflib reads
(as for the other EDF files).

The references live in an environment of their own (not dosewatch dependencies)::

    python -m venv /tmp/ecgref && /tmp/ecgref/bin/pip install wfdb pyedflib
    /tmp/ecgref/bin/python scripts/make_ecg_fixtures.py \\
        --adfecgdb PATH/r01.edf --mitdb PATH/100

(``r01.edf`` with ``r01.edf.qrs`` beside it; ``100`` the WFDB record name of ``100.hea``,
``100.dat`` and ``100.atr``, e.g. from wfdb-python's ``sample-data``.) With
``--validation OUT.npz`` it also writes the whole recordings, outside the repository, for
``scripts/validate_ecg.py``.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
from make_rawacc_fixtures import DATA, expect_signals

BEAT_SYMBOLS = list("NLRBAaJSVrFejnE/fQ?")  # WFDB beat annotation codes
MITDB_MINUTES = 10


def subset_edf(source: Path, out: Path, keep: list[str]) -> float:
    """Copy the signals named ``keep`` of an EDF(+) file, header fields and data bytes
    unchanged; return the first kept signal's rate."""
    raw = source.read_bytes()
    ns = int(raw[252:256])
    widths = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]
    fields, at = [], 256
    for width in widths:
        fields.append([raw[at + k * width : at + (k + 1) * width] for k in range(ns)])
        at += width * ns
    labels = [f.decode("latin-1").strip() for f in fields[0]]
    index = [labels.index(name) for name in keep]
    per = [int(v) for v in fields[8]]
    duration = float(raw[244:252])
    record = 2 * sum(per)
    n_records = (len(raw) - at) // record
    data = np.frombuffer(raw[at : at + n_records * record], "<i2").reshape(n_records, -1)
    starts = np.concatenate([[0], np.cumsum(per)])
    kept = np.concatenate([data[:, starts[k] : starts[k + 1]] for k in index], axis=1)
    head = bytearray(raw[:256])
    head[184:192] = f"{256 * (len(index) + 1)}".encode().ljust(8)
    head[252:256] = f"{len(index)}".encode().ljust(4)
    body = b"".join(fields[w][k] for w in range(len(widths)) for k in index)
    out.write_bytes(bytes(head) + body + kept.astype("<i2").tobytes())
    return per[index[0]] / duration


def minute_bpm(beats: np.ndarray) -> np.ndarray:
    """Per whole minute from the start: 60 / mean RR of the intervals ending in it (those
    within 30-220 bpm: not a gap in the annotations)."""
    rr, end = np.diff(beats), beats[1:]
    plausible = (rr >= 60 / 220) & (rr <= 2.0)
    rr, end = rr[plausible], end[plausible]
    minute = (end // 60).astype(int)
    n = int(beats[-1] // 60)  # whole minutes only
    total = np.bincount(minute, weights=rr, minlength=n + 1)[:n]
    count = np.bincount(minute, minlength=n + 1)[:n]
    return 60.0 / (total / count)


def save(out: Path, reference: np.ndarray, signal: np.ndarray, fs: float, source: str) -> None:
    import wfdb.processing

    xqrs = wfdb.processing.xqrs_detect(signal, fs=fs, verbose=False) / fs
    path = out.parent / "expected" / (out.name + ".beats.npz")
    np.savez_compressed(path, reference=reference, xqrs=xqrs, minute_bpm=minute_bpm(reference),
                        fs=fs, source=source)
    print(f"{path.relative_to(DATA)}: {reference.size} reference beats, {xqrs.size} by xqrs")


def adfecgdb(r01: Path) -> None:
    import pyedflib
    import wfdb

    out = DATA / "edf" / "adfecgdb_r01_direct.edf"
    fs = subset_edf(r01, out, ["Direct_1", "EDF Annotations"])
    qrs = wfdb.rdann(str(r01), "qrs")
    reader = pyedflib.EdfReader(str(out))
    signal = reader.readSignal(0)
    reader.close()
    save(out, qrs.sample / fs, signal, fs, "adfecgdb r01.edf.qrs (expert fetal QRS)")
    expect_signals(out)


def mitdb(record: Path) -> None:
    import pyedflib
    import wfdb

    header = wfdb.rdheader(str(record))
    fs = float(header.fs)
    n = int(MITDB_MINUTES * 60 * fs)
    rec = wfdb.rdrecord(str(record), channel_names=["MLII"], sampto=n, physical=False)
    adc = rec.d_signal[:, 0].astype(np.int64) - rec.baseline[0]
    gain = rec.adc_gain[0]
    ann = wfdb.rdann(str(record), "atr", sampto=n)
    beats = ann.sample[np.isin(ann.symbol, BEAT_SYMBOLS)] / fs
    out = DATA / "edf" / "mitdb100_mlii.edf"
    head = {"label": "MLII", "dimension": "mV", "sample_frequency": fs,
            "physical_min": -1024 / gain, "physical_max": 1023 / gain,
            "digital_min": -1024, "digital_max": 1023, "transducer": "", "prefilter": ""}
    with pyedflib.EdfWriter(str(out), 1, file_type=pyedflib.FILETYPE_EDFPLUS) as writer:
        writer.setSignalHeaders([head])
        # The database gives no date: a fixed one, so that the file's start is a real date.
        writer.setStartdatetime(datetime.datetime(2000, 1, 1, 0, 0, 0))
        writer.writeSamples([np.ascontiguousarray(adc, dtype=np.int32)], digital=True)
    save(out, beats, adc / gain, fs, "mitdb 100.atr (cardiologists' beat labels)")
    expect_signals(out)


def validation_set(r01: Path, record: Path, out: Path) -> None:
    """Whole recordings for ``scripts/validate_ecg.py`` (kept out of the repository): every
    ADFECGDB record beside ``r01.edf`` (its direct ECG and expert QRS) and the whole
    30 minutes of the MIT-BIH record (MLII and the cardiologists' beats), with wfdb's
    ``xqrs_detect`` beats of each."""
    import pyedflib
    import wfdb
    import wfdb.processing

    arrays: dict[str, np.ndarray] = {}
    for path in sorted(r01.parent.glob("r*.edf")):
        reader = pyedflib.EdfReader(str(path))
        signal, fs = reader.readSignal(0), reader.getSampleFrequency(0)
        reader.close()
        arrays |= {f"{path.stem}_ecg": signal, f"{path.stem}_fs": np.float64(fs),
                   f"{path.stem}_reference": wfdb.rdann(str(path), "qrs").sample / fs}
    rec = wfdb.rdrecord(str(record), channel_names=["MLII"])
    ann = wfdb.rdann(str(record), "atr")
    fs = float(rec.fs)
    arrays |= {"mitdb100_ecg": rec.p_signal[:, 0], "mitdb100_fs": np.float64(fs),
               "mitdb100_reference": ann.sample[np.isin(ann.symbol, BEAT_SYMBOLS)] / fs}
    for name in [k[:-4] for k in arrays if k.endswith("_ecg")]:
        fs = float(arrays[f"{name}_fs"])
        arrays[f"{name}_xqrs"] = wfdb.processing.xqrs_detect(
            arrays[f"{name}_ecg"], fs=fs, verbose=False) / fs
    np.savez_compressed(out, **arrays)
    print(f"{out}: {', '.join(k[:-4] for k in arrays if k.endswith('_ecg'))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adfecgdb", type=Path, required=True,
                        help="r01.edf of the Abdominal and Direct Fetal ECG Database")
    parser.add_argument("--mitdb", type=Path, required=True,
                        help="the WFDB record 100 of the MIT-BIH Arrhythmia Database")
    parser.add_argument("--validation", type=Path,
                        help="also write the whole recordings (every ADFECGDB record beside "
                        "r01.edf, all of MIT-BIH 100) to this .npz for validate_ecg.py")
    args = parser.parse_args()
    adfecgdb(args.adfecgdb)
    mitdb(args.mitdb)
    if args.validation:
        validation_set(args.adfecgdb, args.mitdb, args.validation)
    return 0


if __name__ == "__main__":
    sys.exit(main())
