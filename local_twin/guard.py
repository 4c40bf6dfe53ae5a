"""Runs one command and ends it when whoever started the guard goes away.

`python -m local_twin.guard -- redis-server ...`: a server that knows nothing of its
parent (redis-server) would outlive a SIGKILLed test run; the guard does not let it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def main() -> None:
    argv = sys.argv[sys.argv.index("--") + 1 :]
    parent = os.getppid()
    child = subprocess.Popen(argv)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    while child.poll() is None:
        if os.getppid() != parent:
            child.kill()
            break
        time.sleep(0.2)
    sys.exit(child.wait())


if __name__ == "__main__":
    main()
