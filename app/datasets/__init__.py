"""The executable registry: each dataset's knowledge in one module, read by every other layer."""

from __future__ import annotations

from app.datasets.base import Caveat, Dataset, Dimension, Family, Measure
from app.datasets.encounters import ENCOUNTERS
from app.datasets.overdose_deaths import OVERDOSE_DEATHS
from app.datasets.seizures import LBS_TO_KG, SEIZURES
from app.datasets.time import GRAIN_DESCRIPTIONS

DATASETS: dict[str, Dataset] = {d.name: d for d in (SEIZURES, ENCOUNTERS, OVERDOSE_DEATHS)}

__all__ = ["DATASETS", "ENCOUNTERS", "GRAIN_DESCRIPTIONS", "LBS_TO_KG", "OVERDOSE_DEATHS",
           "SEIZURES", "Caveat", "Dataset", "Dimension", "Family", "Measure"]
