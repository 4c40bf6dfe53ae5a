"""local_twin/lambda_pool.py: code and layers are unpacked once, however many environments start."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from local_twin.lambda_pool import LambdaPool


def test_environments_that_start_together_share_one_unpacking(tmp_path: Path) -> None:
    pool = LambdaPool({}, work_dir=tmp_path)
    calls: list[str] = []
    lock = threading.Lock()

    def unpack(staging: Path) -> None:
        with lock:
            calls.append(staging.name)
        time.sleep(0.2)  # long enough for every other starter to arrive meanwhile
        staging.mkdir()
        (staging / "module.py").write_text("x = 1\n")

    root = tmp_path / "opt-shared"
    with ThreadPoolExecutor(8) as starters:
        roots = list(starters.map(lambda _: pool._unpacked(root, unpack), range(8)))
    assert roots == [root] * 8
    assert len(calls) == 1, calls
    assert (root / "module.py").read_text() == "x = 1\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["opt-shared"]  # no staging copies left
