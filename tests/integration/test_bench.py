"""`make bench`'s sections on the session's twin, small: what they count must hold, whatever the timings."""

from __future__ import annotations

import os
import time

import pytest

from drivers import capacity
from drivers.bench import sections
from drivers.bench.inprocess import Shop

pytestmark = [pytest.mark.twin, pytest.mark.redis]


@pytest.fixture(scope="module")
def shop(twin):
    with Shop.loaded(twin) as loaded:
        yield loaded


def test_the_in_process_shop_leaves_the_test_process_as_it_was(twin) -> None:
    before = dict(os.environ)
    with Shop.loaded(twin) as loaded:
        assert os.environ["STATE_TABLE_NAME"] == twin.table_name
        assert loaded.call("GET", "/carts/no-such-cart")["statusCode"] == 404
    assert dict(os.environ) == before


def test_round_trips_per_operation_are_the_documented_ones(shop) -> None:
    trips = sections.round_trips(shop)
    # A new call on any path changes one of these counts.
    # The counts README's bench section explains and docs/capacity.md builds on (drivers/capacity.py).
    assert trips == capacity.ROUND_TRIPS


def test_the_naive_baseline_answers_as_the_reference_handler(shop) -> None:
    figures = sections.speedups(shop, calls=20)  # raises if the two handlers' answers differ
    assert figures["speedup.reference_vs_naive_invocation"] > 0
    assert figures["speedup.cached_vs_uncached_read"] > 0


def test_no_update_is_lost_under_contention(twin) -> None:
    figures = sections.concurrency(twin, workers_list=(2,), increments=15, throughput_increments=5)
    assert figures["concurrency.increments"] == 8 * 15
    assert figures["concurrency.lost_updates"] == 0


def test_hit_ratio_run_falls_back_through_an_outage_and_recovers(twin, shop) -> None:
    figures = sections.hit_ratio(
        twin,
        shop,
        products=300,
        warmup=3_000,
        window=3_000,
        outage_seconds=0.5,
        recovery_seconds=2.0,
        bucket=200,
    )
    outage_reads = figures["catalog.hit_ratio.outage.reads"]
    assert outage_reads > 0 and figures["catalog.hit_ratio.outage.fallback_reads"] == outage_reads, (
        "every read during the outage is served, from the table"
    )
    assert 0.5 < figures["catalog.hit_ratio.zipf_10k"] <= 1
    phases = [phase for _, phase, _ in figures["_timeline"]]
    assert phases.index("outage") < phases.index("recovery")
    assert figures["catalog.hit_ratio.recovery.seconds_to_90pct_of_steady"] is not None, (
        "the cache refills after the restart"
    )


def test_peak_memory_is_each_warm_workers_max_memory_used(twin, tmp_path) -> None:
    figures = sections.memory(twin, tmp_path, invocations=3)
    # Every function but the durable checkout, whose events only Lambda's durable runtime makes.
    assert set(figures) == {
        f"memory.peak_rss_mb.{key}" for key in twin.function_keys if key != "checkout_durable"
    }
    assert all(isinstance(value, int) and 20 < value < 2_000 for value in figures.values())


def test_every_invocation_logs_lambdas_report_line(twin) -> None:
    since = int(time.time() * 1000)
    assert twin.request("GET", "/carts/no-such-cart").status == 404
    reports = [
        line for line in twin.function_log("cart", since_ms=since) if line.startswith("REPORT RequestId: ")
    ]
    assert reports, "no REPORT line"
    fields = dict(field.split(": ", 1) for field in reports[-1].rstrip("\n").split("\t")[1:])
    assert set(fields) == {"Duration", "Billed Duration", "Memory Size", "Max Memory Used"}
    assert fields["Memory Size"].endswith(" MB") and int(fields["Max Memory Used"].removesuffix(" MB")) > 20


def test_idempotency_time_is_measured_inside_real_placements(shop) -> None:
    figures = sections.idempotency(shop, orders=3)
    assert figures["idempotency.overhead_ms"] > 0
    assert 0 < figures["idempotency.overhead_share"] < 1
    assert shop.modules["checkout"].persistence.save_inprogress.__name__ == "save_inprogress", "restored"
