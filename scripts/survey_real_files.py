"""Open every real activity file of the validation set and write what came out.

Usage::

    python scripts/survey_real_files.py [--root DIR] [--out docs/real-files.md]

Every ``.fit``, ``.tcx``, ``.gpx`` file (optionally ``.gz``) under ``--root`` (default:
``shared/data/real`` next to the repository) is read with dosewatch's reader for its
kind. The table says, per file: the reader, whether it loaded (or the reason it did not),
the duration against the one ``SOURCES.md`` lists, heart-rate samples, RR, speed and its
source, cadence, power, sport, start time, the time the reader took, and the repairs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np

from dosewatch.errors import DosewatchError
from dosewatch.ingest import FILE_READERS, RECORDING_SUFFIX
from dosewatch.ingest.activity import choose_speed, to_session

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "real-files.md"
ACTIVITY_SUFFIXES = tuple(s for s in FILE_READERS if s != RECORDING_SUFFIX)


def activity_files(root: Path) -> list[Path]:
    """Every activity file below ``root``, sorted."""
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.name.lower().endswith(ACTIVITY_SUFFIXES)
    )


def listed_durations(root: Path) -> dict[str, float]:
    """``SOURCES.md``'s duration column (minutes), by local path."""
    sources = root / "SOURCES.md"
    if not sources.exists():
        return {}
    out = {}
    for line in sources.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[0].startswith("`"):
            try:
                out[cells[0].strip("`")] = float(cells[6])
            except ValueError:
                continue
    return out


def survey_file(path: Path) -> dict[str, object]:
    """Read one file; the row of the table as a dict."""
    lower = path.name.lower()
    suffix = max((s for s in ACTIVITY_SUFFIXES if lower.endswith(s)), key=len)
    module_name = FILE_READERS[suffix][0]
    module = importlib.import_module(f"dosewatch.ingest.{module_name}")
    parse = getattr(module, f"parse_{module_name}")
    row: dict[str, object] = {"reader": f"{module_name}.read_{module_name}"}
    start = time.perf_counter()
    try:
        data = parse(path)
        session = to_session(data)
    except DosewatchError as exc:
        row["seconds"] = time.perf_counter() - start
        row["loaded"] = False
        row["reason"] = f"{type(exc).__name__}: {exc.reason}"
        return row
    row["seconds"] = time.perf_counter() - start
    speed = choose_speed(data)
    hr = session.hr
    rr = 0 if hr is None or hr.rr_ms is None else int(np.isfinite(hr.rr_ms).sum())
    row.update(
        loaded=True,
        duration_min=session.duration_s / 60.0,
        hr_samples=0 if hr is None else int(hr.t.size),
        rr_samples=rr,
        speed_samples=0 if session.speed is None else int(session.speed.t.size),
        speed_source=None if session.speed is None or speed is None else speed.source,
        cadence=session.cadence is not None,
        power=session.power is not None,
        sport=session.provenance.sport,
        start=session.provenance.start_time,
        repairs=list(session.provenance.repairs),
    )
    return row


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(root: Path, rows: list[tuple[Path, dict[str, object]]]) -> str:
    listed = listed_durations(root)
    loaded = sum(1 for _, r in rows if r["loaded"])
    total_s = sum(float(r["seconds"]) for _, r in rows)
    slowest_path, slowest = max(rows, key=lambda pr: float(pr[1]["seconds"]))
    lines = [
        "# Real activity files: what the readers make of them",
        "",
        "Written by `scripts/survey_real_files.py` (run it again to refresh). Every `.fit`, "
        "`.tcx`, `.gpx` (and `.gz`) file of the validation set (`shared/data/real/`, see "
        "its `SOURCES.md`) read with dosewatch's reader for its kind.",
        "",
        f"**{loaded} of {len(rows)} files loaded** into a session with heart rate; reading "
        f"all of them took {total_s:.1f} s (slowest: `{slowest_path.name}`, "
        f"{float(slowest['seconds']):.2f} s).",
        "",
        "Columns: *min* = session duration (minutes) and, after the slash, the duration "
        "`SOURCES.md` lists; *HR* = heart-rate samples; *RR* = heart-rate samples with an RR "
        "interval (FIT `hrv` messages); *speed* = speed samples and where they came from; "
        "*cad/pow* = cadence / power present; *s* = seconds to read.",
        "",
        "| file | reader | loaded | min | HR | RR | speed | speed source | cad | pow | sport "
        "| start (UTC) | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for path, r in rows:
        local = path.relative_to(root).as_posix()
        if not r["loaded"]:
            lines.append(
                f"| `{_cell(local)}` | {r['reader']} | no: {_cell(r['reason'])} "
                "| | | | | | | | | | "
                f"{float(r['seconds']):.2f} |"
            )
            continue
        expected = listed.get(local)
        duration = f"{float(r['duration_min']):.1f}"
        if expected is not None:
            duration += f" / {expected:.1f}"
        start = r["start"]
        start_text = start.strftime("%Y-%m-%d %H:%M:%S") if start is not None else "unknown"
        lines.append(
            f"| `{_cell(local)}` | {r['reader']} | yes | {duration} | {r['hr_samples']} "
            f"| {r['rr_samples'] or ''} | {r['speed_samples'] or ''} "
            f"| {_cell(r['speed_source'] or '')} | {'yes' if r['cadence'] else ''} "
            f"| {'yes' if r['power'] else ''} | {_cell(r['sport'] or '')} | {start_text} "
            f"| {float(r['seconds']):.2f} |"
        )
        if r["repairs"]:
            notes.append(f"- `{_cell(local)}`: " + "; ".join(_cell(x) for x in r["repairs"]))
    lines += ["", "## Repairs and decisions, per file", ""]
    lines += notes or ["(none)"]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    files = activity_files(args.root)
    if not files:
        print(f"no activity files under {args.root}", file=sys.stderr)
        return 1
    rows = [(path, survey_file(path)) for path in files]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(args.root, rows), encoding="utf-8")
    failed = [p for p, r in rows if not r["loaded"]]
    print(f"{len(rows) - len(failed)} of {len(rows)} files loaded; table: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
