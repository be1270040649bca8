"""Fault injection (zshard.faults): a job fails its first N attempts, counted across processes."""

import pytest

from zshard.faults import InjectedFault, attempts_so_far, maybe_fail


def test_the_configured_job_fails_its_first_attempts_then_succeeds(tmp_path):
    config = {"results": str(tmp_path), "fault_injection": {"rule": "fanout_shard", "shard": "o3_p1", "failures": 2}}
    for attempt in (1, 2):
        with pytest.raises(InjectedFault, match=f"attempt {attempt} of the first 2"):
            maybe_fail(config, "fanout_shard", "o3_p1")
    maybe_fail(config, "fanout_shard", "o3_p1")
    assert attempts_so_far(str(tmp_path), "fanout_shard", "o3_p1") == 3


def test_other_jobs_and_runs_without_the_key_are_untouched(tmp_path):
    config = {"results": str(tmp_path), "fault_injection": {"rule": "fanout_shard", "shard": "o3_p1", "failures": 5}}
    maybe_fail(config, "fanout_shard", "o3_p2")
    maybe_fail(config, "fit_calibration", "o3_p1")
    maybe_fail({"results": str(tmp_path)}, "fanout_shard", "o3_p1")
    assert not (tmp_path / ".fault_injection").exists()
