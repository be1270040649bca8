"""Fault injection for the workflow's failure tests: never configured in a real run.

A config ``fault_injection: {rule, shard, failures}`` makes that rule's job for that shard fail its
first ``failures`` attempts. Each attempt appends a line to a file under
``<results>/.fault_injection/`` before it decides, so the count is shared by every retry of the
job, on whichever node of a cluster it runs (the results directory is on the shared file system).
The key is read from the config inside the job, not passed as a rule parameter, so setting or
removing it reruns nothing.
"""

from __future__ import annotations

import os


class InjectedFault(RuntimeError):
    """The failure a test asked for."""


def attempts_so_far(results: str, rule: str, shard: str) -> int:
    """How many attempts of (rule, shard) have started under fault injection."""
    path = os.path.join(results, ".fault_injection", f"{rule}-{shard}.attempts")
    if not os.path.exists(path):
        return 0
    with open(path) as handle:
        return sum(1 for _ in handle)


def maybe_fail(config: dict, rule: str, shard: str) -> None:
    """Raise :class:`InjectedFault` if the config asks this job's current attempt to fail."""
    fault = config.get("fault_injection")
    if not fault or fault["rule"] != rule or fault["shard"] != shard:
        return
    directory = os.path.join(config["results"], ".fault_injection")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"{rule}-{shard}.attempts"), "a") as handle:
        handle.write(f"{os.uname().nodename} {os.getpid()}\n")
    attempt = attempts_so_far(config["results"], rule, shard)
    if attempt <= fault["failures"]:
        raise InjectedFault(f"fault injection: {rule} for shard {shard} fails attempt {attempt} "
                            f"of the first {fault['failures']} (config fault_injection)")
