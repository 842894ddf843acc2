"""The job registry: what each job name runs, on which queue, with which time limit and
retries, and which jobs the workers request periodically.

It sits below both `cellule.outbox` (which looks a name up when a job is requested and
relayed) and `cellule.jobs` (whose `@job` and `periodic` fill it, and whose runner RQ calls),
so that neither of those two needs the other at import time in both directions.
"""

from dataclasses import dataclass, field

from flask import current_app
from rq import Retry


class UnknownJob(KeyError):
    """No job of that name is registered (its module was not imported)."""

    def __str__(self):
        return f"unknown job {self.args[0]!r}"


@dataclass
class JobSpec:
    name: str
    func: object  # the wrapper RQ calls
    body: object  # the decorated function
    timeout: int
    retries: tuple | None  # None: the configured back-off
    queue: str = "default"
    on_failure: object = None  # the RQ failure callback: it notes the error on the outbox row


@dataclass
class Periodic:
    name: str
    every: int  # seconds
    queue: str = "default"
    enabled: object = field(default=lambda app: True)


SPECS = {}
PERIODIC = {}


def get_spec(name):
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownJob(name) from None


def retry_policy(spec):
    """RQ's retries for a job: its own intervals, else `CELLULE_JOB_RETRY_INTERVALS`."""
    if spec.retries is None:
        raw = current_app.config["CELLULE_JOB_RETRY_INTERVALS"]
        intervals = [int(x) for x in str(raw).split(",") if x.strip()]
    else:
        intervals = list(spec.retries)
    return Retry(max=len(intervals), interval=intervals) if intervals else None
