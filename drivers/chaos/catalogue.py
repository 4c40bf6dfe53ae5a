"""The experiments `make chaos` runs, in order; `short` ones also run in `make test`."""

from drivers.chaos import (
    checkout_brownout,
    dynamodb_throttling,
    invalidator_throttled,
    step_crash_after_write,
    stream_lag_cache_flush,
    transaction_conflict,
)
from drivers.chaos.harness import Experiment

CATALOGUE: list[Experiment] = [
    dynamodb_throttling.EXPERIMENT,
    step_crash_after_write.EXPERIMENT,
    transaction_conflict.EXPERIMENT,
    checkout_brownout.EXPERIMENT,
    stream_lag_cache_flush.EXPERIMENT,
    invalidator_throttled.EXPERIMENT,
]


def by_name(names: list[str] | None) -> list[Experiment]:
    if not names:
        return list(CATALOGUE)
    known = {experiment.name: experiment for experiment in CATALOGUE}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"no experiment {unknown}; the catalogue has {sorted(known)}")
    return [known[name] for name in names]
