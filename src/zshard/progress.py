"""Progress of a long job in its log: rows done, rate and ETA, at a bounded rate.

A survey's jobs run for minutes to hours (a mock of 100M rows, a split of a 2.5M-row file, a
million-row shard's fan-out, the n(z) reduce over thousands of partials). Their logs say how far
they are, at most once every ``interval_s`` seconds of :func:`time.monotonic` (a job that logs every
chunk would write millions of lines), plus the first and the last line::

    partition_split cat_0: 1,000,000 of 2,500,000 rows (40.0%), 312,000 rows/s, ETA 4.8 s

Usage::

    progress = Progress("partition_split cat_0", total=n_rows)
    for chunk in chunks:
        ...
        progress.advance(len(chunk))
    progress.finish()
"""

from __future__ import annotations

import time
from collections.abc import Callable

INTERVAL_S = 15.0  # at most one line per 15 s between the first and the last


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Counts rows done and logs them with the rate and the ETA, at most every ``interval_s``.

    Parameters
    ----------
    label : str
        What is being done (the job), at the start of every line.
    total : int, optional
        Rows to do, if known: the lines then give the fraction and the ETA.
    unit : str
        What is counted ("rows", "shards").
    interval_s : float
        Least time between two lines (the first and the final line are always written).
    log : callable
        Called with each line (``print`` writes to the job's log: its scripts redirect stdout).
    clock : callable
        Seconds, monotonic (``time.monotonic``; a fake clock in the tests).
    """

    def __init__(self, label: str, total: int | None = None, *, unit: str = "rows", interval_s: float = INTERVAL_S,
                 log: Callable[[str], object] = print, clock: Callable[[], float] = time.monotonic):
        self.label, self.total, self.unit, self.interval_s = label, total, unit, float(interval_s)
        self.log, self.clock = log, clock
        self.done = 0
        self.start = clock()
        self.last_logged: float | None = None

    def line(self, now: float) -> str:
        """The progress line at time ``now``."""
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        text = f"{self.label}: {self.done:,}"
        if self.total is not None:
            fraction = self.done / self.total if self.total else 1.0
            text += f" of {self.total:,} {self.unit} ({100 * fraction:.1f}%)"
        else:
            text += f" {self.unit}"
        if elapsed > 0:
            text += f", {rate:,.0f} {self.unit}/s"
        if self.total is not None and 0 < self.done < self.total and rate > 0:
            text += f", ETA {_duration((self.total - self.done) / rate)}"
        return text + f", {_duration(elapsed)} elapsed"

    def advance(self, n: int) -> str | None:
        """Count ``n`` more done; log (and return) a line if ``interval_s`` has passed since the last
        one, or if this is the first."""
        self.done += int(n)
        now = self.clock()
        if self.last_logged is not None and now - self.last_logged < self.interval_s:
            return None
        self.last_logged = now
        text = self.line(now)
        self.log(text)
        return text

    def finish(self) -> str:
        """Log (and return) the final line, whenever the last one was."""
        now = self.clock()
        self.last_logged = now
        text = self.line(now) + " (done)"
        self.log(text)
        return text
