"""`make bench`'s machinery: interleaving, round-trip counting, targets and the report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import redis

from drivers.bench import report
from drivers.bench.measure import count_round_trips, interleaved, ratio
from drivers.bench.sections import ttl_cache_hit_ratio, zipf_sampler
from local_twin.redis_server import RedisServer


def test_variants_take_turns_in_alternating_order_and_every_round_counts() -> None:
    calls: list[str] = []
    samples = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=4, calls=2)
    assert calls == ["a", "a", "b", "b", "b", "b", "a", "a"] * 2
    assert [len(samples["a"]), len(samples["b"])] == [4, 4]
    assert all(value > 0 for value in samples["a"] + samples["b"])


def test_a_ratio_is_of_the_medians_so_one_slow_round_does_not_move_it() -> None:
    samples = {"a": [2.0, 2.0, 2.0, 200.0, 2.0], "b": [1.0, 1.0, 1.0, 1.0, 1.0]}
    assert ratio(samples, "a", "b") == 2.0


def test_round_trips_are_counted_at_the_socket_a_pipeline_and_a_script_are_one(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        client.ping()  # connects outside the count
        assert count_round_trips(lambda: client.get("k")) == {"redis": 1}

        def transaction() -> None:
            pipeline = client.pipeline(transaction=True)
            pipeline.set("k", "v")
            pipeline.delete("k")
            pipeline.execute()

        assert count_round_trips(transaction) == {"redis": 1}
        assert count_round_trips(lambda: client.eval("return 1", 0)) == {"redis": 1}
        assert count_round_trips(lambda: [client.get("k") for _ in range(3)]) == {"redis": 3}
    finally:
        server.stop()
    original = redis.connection.AbstractConnection.send_packed_command
    count_round_trips(lambda: None)
    assert redis.connection.AbstractConnection.send_packed_command is original, "counting ends with the block"


def test_zipf_sampling_is_seeded_and_favours_the_first_ranks() -> None:
    first, second = zipf_sampler(1_000, 1.1, seed=3), zipf_sampler(1_000, 1.1, seed=3)
    draws = [first() for _ in range(20_000)]
    assert draws[:50] == [second() for _ in range(50)]
    counts = Counter(draws)
    assert counts.most_common(1)[0][0] == "ZIPF-00001"
    assert counts["ZIPF-00001"] > counts["ZIPF-00010"] > counts.get("ZIPF-00900", 0)
    assert all("ZIPF-00001" <= sku <= "ZIPF-01000" for sku in counts)


def test_targets_are_met_missed_or_reported_as_not_measured() -> None:
    results = {
        "overhead.cache_hit_vs_raw_get": 1.4,
        "overhead.store_read_vs_raw_get_item": 1.3,
        "coldstart.import_vs_boto3.cart": 1.2,
        "coldstart.import_vs_boto3.checkout": 1.7,
        "concurrency.lost_updates": 0,
        "catalog.hit_ratio.zipf_10k": None,
    }
    missed = report.missed_targets(results)
    assert "overhead.store_read_vs_raw_get_item <= 1.15 (got 1.3)" in missed
    assert "coldstart.import_vs_boto3.checkout <= 1.5 (got 1.7)" in missed
    assert "catalog.hit_ratio.zipf_10k >= 0.95 (got None)" in missed
    assert "speedup.reference_vs_naive_invocation >= 3 (not measured)" in missed
    assert not [
        m
        for m in missed
        if m.startswith(("overhead.cache_hit", "coldstart.import_vs_boto3.cart", "concurrency"))
    ]


def test_the_report_embeds_its_charts_and_names_every_miss(tmp_path: Path) -> None:
    results = {"overhead.cache_hit_vs_raw_get": 1.9, "concurrency.lost_updates": 0}
    charts = {
        "Latency per strategy": report.latency_chart(
            {"cache hit": [120.0, 130.0, 125.0], "raw GET": [90.0, 95.0, 92.0]}, tmp_path / "latency.png"
        ),
        "Catalog hit ratio across an outage": report.hit_ratio_chart(
            [(0.1, "steady", 0.96), (0.2, "outage", 0.0), (0.3, "recovery", 0.5), (0.4, "recovery", 0.9)],
            tmp_path / "hit_ratio.png",
        ),
    }
    for chart in charts.values():
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    path = report.write_report(tmp_path, results, charts, {"cart.add_item": "+1 DynamoDB: the cart rules"})
    text = path.read_text()
    assert "![Latency per strategy](latency.png)" in text
    assert "![Catalog hit ratio across an outage](hit_ratio.png)" in text
    assert "- MISSED: overhead.cache_hit_vs_raw_get <= 1.5 (got 1.9)" in text
    assert "| `concurrency.lost_updates` | 0 | == 0 (met) |" in text
    assert "+1 DynamoDB: the cart rules" in text
    assert json.loads(report.write_results(tmp_path, results).read_text()) == results


@pytest.mark.parametrize("value, mark", [(1.2, "met"), (1.6, "MISSED")])
def test_the_printed_table_marks_each_targeted_figure(value: float, mark: str) -> None:
    assert f"target <= 1.5: {mark}" in report.table({"overhead.cache_hit_vs_raw_get": value})


def test_the_ttl_model_grows_with_the_reads_per_ttl_and_stays_below_one() -> None:
    ratios = [ttl_cache_hit_ratio(10_000, 1.1, reads) for reads in (10_000, 100_000, 1_000_000)]
    assert ratios == sorted(ratios) and ratios[0] > 0 and ratios[-1] < 1
    assert ratios[1] == pytest.approx(0.94, abs=0.01)


def test_the_layers_bound_counts_what_it_carries_beyond_the_runtimes_own_copies(tmp_path: Path) -> None:
    """The layer ships boto3's closure and the durable SDK on purpose (tools/build.py); the 15 MB
    bound is on the rest, and the whole is held to Lambda's 250 MB unzipped quota."""
    import zipfile

    from drivers.bench.sections import layer_figures

    layer = tmp_path / "dependencies.zip"
    with zipfile.ZipFile(layer, "w") as archive:

        def distribution(dist_info: str, files: dict[str, int]) -> None:
            """Files under python/, and the RECORD pip writes for them (listing itself too)."""
            record = f"{dist_info}/RECORD"
            for name, size in files.items():
                archive.writestr(f"python/{name}", b"x" * size)
            archive.writestr(f"python/{record}", "".join(f"{name},,\n" for name in [*files, record]))

        # The runtime has these too: boto3's closure and the durable SDK (RUNTIME_DISTRIBUTIONS).
        distribution("botocore-1.41.5.dist-info", {"botocore/data.json": 9_000_000})
        distribution(
            "aws_durable_execution_sdk_python-3.0.0.dist-info",
            {"aws_durable_execution_sdk_python/__init__.py": 600_000},
        )
        distribution("six-1.17.0.dist-info", {"six.py": 30_000})
        # The layer's own: nothing the runtime carries, named like it or not.
        distribution("pydantic_core-2.41.5.dist-info", {"pydantic_core/_core.so": 5_000_000})
        distribution("redis-8.1.0.dist-info", {"redis/client.py": 2_000_000})
        distribution("sixer-1.0.dist-info", {"sixer/__init__.py": 100})
    records = {
        info.filename: info.file_size
        for info in zipfile.ZipFile(layer).infolist()
        if info.filename.endswith("/RECORD")
    }
    runtime_records = sum(
        size
        for name, size in records.items()
        if not name.startswith(("python/pydantic", "python/redis", "python/sixer"))
    )
    own_records = sum(records.values()) - runtime_records
    figures = layer_figures(layer)
    assert figures["package.layer_unzipped_bytes"] == 16_630_100 + sum(records.values())
    assert figures["package.layer_unzipped_bytes_beyond_runtime"] == 7_000_100 + own_records
    assert figures["package.layer_runtime_provided_files"] == 6  # three files and their RECORDs
    assert not [m for m in report.missed_targets(figures) if m.startswith("package.")]
    figures["package.layer_unzipped_bytes_beyond_runtime"] = 16_000_000  # a dependency grew
    assert "package.layer_unzipped_bytes_beyond_runtime <= 15 MB (got 16000000)" in report.missed_targets(
        figures
    )
