"""A short free-living recording for tests, simulated once per test run.

Three days at 25 Hz from Saturday 2026-03-07 (UTC), so the recording spans two ISO weeks
(2026-W10: Saturday and Sunday; 2026-W11: Monday):

- Saturday: a 40-minute run in the morning (dose), the band on its charger for 100
  minutes in the evening;
- Sunday: a 25-minute brisk walk at light intensity (a session, no dose), a 15-minute
  shower without the band, a 35-minute run in the evening (dose);
- Monday: the night without the band (7 hours), a 33-minute run in the morning (dose),
  a 24-minute run in the evening (short of the dose).

Every day also holds sleep, sitting and errands on foot of 2-8 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from dosewatch.ingest import ParquetSessionWriter
from dosewatch.session import Profile, Session, build_session
from dosewatch.simulate.freeliving import Event, FreeLivingTruth, simulate_days

START = datetime(2026, 3, 7, tzinfo=UTC)  # a Saturday
PLAN = {
    0: (Event("run", 7.5, 40), Event("off", 20.0, 100)),
    1: (Event("walk", 12.5, 25), Event("off", 16.0, 15), Event("run", 18.0, 35)),
    2: (Event("off", 0.0, 7 * 60), Event("run", 8.0, 33), Event("run", 17.5, 24)),
}
DAYS = 3
SEED = 11
ACC_FS = 25.0


@dataclass(frozen=True, eq=False)
class Recording:
    truth: FreeLivingTruth
    profile: Profile
    hr: tuple[np.ndarray, np.ndarray]
    acc: tuple[np.ndarray, np.ndarray]

    def session(self, *, hr: bool = True, profile: Profile | None = None,
                name: str = "week") -> Session:
        return build_session(name, hr=self.hr if hr else None, acc=self.acc,
                             profile=profile or self.profile, source=name, format="simulated")


@lru_cache(maxsize=1)
def recording() -> Recording:
    """The three days (see the module text), made once."""
    truth, days = simulate_days(PLAN, DAYS, SEED, START, acc_fs=ACC_FS)
    parts = list(days)
    person = truth.person
    profile = Profile(id="P01", age=person.age, hr_rest=person.hr_rest, hr_max=person.hr_max,
                      placement="wrist")
    hr = (np.concatenate([d.hr[0] for d in parts]), np.concatenate([d.hr[1] for d in parts]))
    acc = (np.concatenate([d.acc[0] for d in parts]), np.concatenate([d.acc[1] for d in parts]))
    return Recording(truth, profile, hr, acc)


def write_recording(path: Path, session: Session) -> Path:
    """A session as a Parquet session folder (absolute times, so its sessions are dated)."""
    start = session.provenance.start_time
    offset = 0.0 if start is None else start.timestamp()
    with ParquetSessionWriter(path, profile=session.profile) as writer:
        hr = None if session.hr is None else (session.hr.t + offset, session.hr.bpm)
        writer.append(hr=hr, acc=(session.acc.t + offset, session.acc.xyz))
    return path
