"""A line every few seconds while a long step runs that has no count of its own to show.

`tools.tfrun.ApplyProgress` counts terraform's resources; a plan, a pip build of the twin's
Lambda runtime or a Locust run has no such count, and a newcomer who sees one line and then
nothing for a minute takes the command for hung. `heartbeat` prints what is running and for how
long (and, where the step can say it, how far it is) until the step ends, however it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def heartbeat(
    what: str,
    every_seconds: float = 10.0,
    report: Callable[[str], None] | None = None,
    detail: Callable[[], str] | None = None,
) -> Iterator[None]:
    """Reports `what: N s` every `every_seconds` while the block runs (with `detail()` after it,
    when given); nothing once the block has ended, on success, error or Ctrl-C."""
    emit = report or (lambda line: print(line, flush=True))
    done = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not done.wait(every_seconds):
            line = f"{what}: {time.monotonic() - started:.0f} s"
            if detail is not None:
                try:
                    extra = detail()
                except Exception as error:  # a progress line must never end the step it reports
                    extra = f"({type(error).__name__})"
                if extra:
                    line = f"{line}, {extra}"
            emit(line)

    thread = threading.Thread(target=beat, name=f"heartbeat: {what}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
