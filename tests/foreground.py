"""Children that the tests stop with Ctrl-C's signal must take it as a terminal's foreground job does.

A shell without job control starts a background job with SIGINT ignored (POSIX, "Shell Command
Language", 2.11 Signals and Error Handling), the child inherits that through exec, and Python then
installs no KeyboardInterrupt handler. `make test &` or a CI runner that starts the suite in the
background would otherwise send a SIGINT that nothing hears, and the test would wait out its timeout."""

from __future__ import annotations

import signal


def take_ctrl_c() -> None:
    """A Popen preexec_fn: SIGINT back to its default, so the child's Python installs its handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
