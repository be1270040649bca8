"""zshard.progress: rows, rate and ETA in a job's log, at most once per interval (a fake clock, no sleeps)."""

from zshard.progress import Progress


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_lines_are_written_at_most_once_per_interval_with_rate_and_eta():
    clock, lines = FakeClock(), []
    progress = Progress("split cat_0", total=1000, interval_s=10, log=lines.append, clock=clock)
    for _ in range(40):  # 40 chunks of 10 rows, one per second
        clock.now += 1
        progress.advance(10)
    # the first chunk, then one line per 10 s: at 1, 11, 21, 31 s
    assert len(lines) == 4
    assert lines[0].startswith("split cat_0: 10 of 1,000 rows (1.0%), 10 rows/s, ETA 99.0 s, 1.0 s elapsed")
    assert lines[-1].startswith("split cat_0: 310 of 1,000 rows (31.0%), 10 rows/s, ETA 69.0 s, 31.0 s elapsed")
    clock.now += 0.5
    assert progress.advance(600) is None  # within the interval: nothing, however many rows
    assert progress.finish() == "split cat_0: 1,000 of 1,000 rows (100.0%), 25 rows/s, 40.5 s elapsed (done)"
    assert len(lines) == 5


def test_without_a_total_there_is_no_eta_and_a_stalled_job_still_logs_at_the_interval():
    clock, lines = FakeClock(), []
    progress = Progress("reduce_nz", unit="shards", interval_s=30, log=lines.append, clock=clock)
    progress.advance(1)
    clock.now += 29.9
    progress.advance(0)
    clock.now += 0.1
    progress.advance(0)
    assert lines == ["reduce_nz: 1 shards, 0.0 s elapsed", "reduce_nz: 1 shards, 0 shards/s, 30.0 s elapsed"]
