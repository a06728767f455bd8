"""What the simulator knows about a session: the true intensity per second and the
reference labels, session class and bouts computed from its epoch means."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..config import Config
from ..features.epochs import epoch_count
from ..spec.bouts import Bout, find_bouts
from ..spec.labels import label_epochs, label_names, session_class
from .people import Person
from .signals import Artefact
from .workload import Workload


def epoch_means(intensity: ArrayLike, epoch_s: float) -> NDArray[np.float64]:
    """Mean of a 1-Hz series over epochs starting at t = 0; the last partial epoch is kept
    only when it is at least half full."""
    x = np.asarray(intensity, dtype=np.float64)
    if epoch_s < 1.0:
        raise ValueError(f"epoch_s must be at least 1 s for a 1-Hz series, got {epoch_s}")
    index = np.floor(np.arange(x.size) / epoch_s + 1e-9).astype(np.intp)
    means = np.bincount(index, weights=x) / np.bincount(index)
    # Which epochs count is the product's own rule, so truth and analysis share the grid.
    return means[: epoch_count(x.size, epoch_s)]


@dataclass(frozen=True, eq=False)
class Truth:
    """What the simulator knows about a session.

    Attributes:
        protocol, person, placement, modality: what was simulated.
        t_s: seconds 0, 1, 2, ...
        intensity: true %HRR per second (steady-state demand: no lag, drift or noise).
        speed_mps, gait, grade, cadence_spm: the workload per second (gait 0 rest, 1 walk,
            2 run; grade a fraction; cadence 0 at rest).
        epoch_s: epoch length used.
        epoch_intensity: mean intensity per epoch (last partial epoch if at least half full).
        labels: reference epoch labels (``dosewatch.spec.labels.label_epochs``).
        session_class: ``constant``, ``accelerating``, ``intermediate`` or ``none``.
        bouts: reference bouts; ``dose_met`` whether any meets the dose.
        hr_bpm: the physiological heart rate per second, before the sensor.
        artefacts: sensor artefacts put into the streams the session holds.
    """

    protocol: str
    person: Person
    placement: str
    modality: str
    t_s: NDArray[np.float64]
    intensity: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    gait: NDArray[np.int8]
    epoch_intensity: NDArray[np.float64]
    labels: NDArray[np.int8]
    session_class: str
    bouts: list[Bout]
    dose_met: bool
    grade: NDArray[np.float64]
    cadence_spm: NDArray[np.float64]
    hr_bpm: NDArray[np.float64]
    epoch_s: float
    artefacts: tuple[Artefact, ...] = ()

    @property
    def qualifying_minutes(self) -> float:
        """Qualifying minutes of the longest bout (0 without bouts)."""
        return max((b.qualifying_minutes for b in self.bouts), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (``truth.json``)."""
        return {
            "protocol": self.protocol,
            "person": asdict(self.person),
            "placement": self.placement,
            "modality": self.modality,
            "duration_s": int(self.t_s.size),
            "epoch_s": float(self.epoch_s),
            "session_class": self.session_class,
            "dose_met": bool(self.dose_met),
            "bouts": [b.as_dict() for b in self.bouts],
            "labels": label_names(self.labels).tolist(),
            "epoch_intensity": [round(float(x), 2) for x in self.epoch_intensity],
            "artefacts": [a.as_dict() for a in self.artefacts],
        }


def make_truth(protocol: str, person: Person, placement: str, modality: str, work: Workload,
               cadence: NDArray[np.float64], hr_bpm: NDArray[np.float64],
               artefacts: tuple[Artefact, ...], config: Config) -> Truth:
    """The truth of a simulated session: reference labels, class and bouts of ``work``."""
    epoch_intensity = epoch_means(work.intensity, config.epochs.epoch_s)
    labels = label_epochs(epoch_intensity, config)
    bouts = find_bouts(epoch_intensity, labels, config)
    return Truth(
        protocol=protocol,
        person=person,
        placement=placement,
        modality=modality,
        t_s=np.arange(work.duration_s, dtype=np.float64),
        intensity=work.intensity,
        speed_mps=work.speed_mps,
        gait=work.gait,
        epoch_intensity=epoch_intensity,
        labels=labels,
        session_class=session_class(labels),
        bouts=bouts,
        dose_met=any(b.dose_met for b in bouts),
        grade=work.grade,
        cadence_spm=cadence,
        hr_bpm=hr_bpm,
        epoch_s=float(config.epochs.epoch_s),
        artefacts=artefacts,
    )
