"""The cache-connection peaks of a load run on the twin (drivers/load/connections.py)."""

from __future__ import annotations

import threading

from drivers.load import connections


def test_peaks_are_per_function_key_across_samples() -> None:
    names = {"shop-twin-catalog": "catalog", "shop-twin-cache-invalidator": "cache_invalidator"}
    samples = [
        {"shop-twin-catalog": {"a": 1, "b": 1}},
        {"shop-twin-catalog": {"a": 2, "b": 1, "c": 1}, "shop-twin-cache-invalidator": {"x": 1}},
        {"shop-twin-catalog": {"a": 2}},
    ]
    assert connections.peaks(samples, names) == {
        "load.cache.connections_peak": 5,
        "load.cache.environments_peak.catalog": 3,
        "load.cache.connections_per_environment_max.catalog": 2,
        "load.cache.environments_peak.cache_invalidator": 1,
        "load.cache.connections_per_environment_max.cache_invalidator": 1,
    }
    assert connections.peaks([], names) == {"load.cache.connections_peak": 0}


def test_the_sampler_samples_until_the_run_ends_and_skips_a_failed_sample() -> None:
    calls = []
    second = threading.Event()

    def sample() -> dict[str, dict[str, int]]:
        calls.append(len(calls))
        if len(calls) == 2:
            second.set()
            raise ConnectionError("the cache is restarting")
        return {"f": {"e": len(calls)}}

    with connections.ConnectionSampler(sample, interval=0.01) as sampler:
        assert second.wait(5)
    taken = len(calls)
    assert taken >= 2
    assert {"f": {"e": 2}} not in sampler.samples and sampler.samples[0] == {"f": {"e": 1}}
    assert len(sampler.samples) == taken - 1
