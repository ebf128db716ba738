"""Fan-out/fan-in: provision every host of a batch at once, keep going when some fail.

A batch of hosts is provisioned by one activity per host, all scheduled in the same workflow
task and awaited together with ``asyncio.gather(..., return_exceptions=True)``. Each activity has
its own retry policy, so a flaky host is retried on its own schedule without holding back the
others; a host that fails for good (out of quota, or out of attempts) is reported, not fatal.

Every host that was provisioned is then configured by a child workflow (``ConfigureHost``), again
all at once. The report says which hosts are ready, which failed to provision and why, and
which failed to configure.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from pytest_durable import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    RetryPolicy,
    activity,
    workflow,
)


@dataclass(frozen=True)
class BatchRequest:
    """Hosts to bring up, and the image they boot."""

    batch_id: str
    hosts: list[str]
    image: str


@dataclass(frozen=True)
class Failure:
    """One host that did not make it, and the root cause."""

    host: str
    reason: str


@dataclass(frozen=True)
class BatchReport:
    """What the batch ended with. Lists follow the request's host order."""

    batch_id: str
    ready: list[str] = field(default_factory=list)
    provision_failed: list[Failure] = field(default_factory=list)
    configure_failed: list[Failure] = field(default_factory=list)


# --- activities: stand-ins for the cloud provider and the configuration service ----------------


@activity.defn
async def provision_host(batch_id: str, host: str, image: str) -> str:
    """Create the machine; returns the provider's instance id."""
    return f"i-{batch_id}-{host}"


@activity.defn
async def apply_config(instance_id: str, host: str) -> str:
    """Push the host's configuration; returns the applied config revision."""
    return f"rev-1-{host}"


PROVISION_TIMEOUT = timedelta(minutes=5)
PROVISION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_attempts=3,
    non_retryable_error_types=["QuotaExceeded"],
)
"""Per host: attempts at +0 s, +10 s and +30 s; an exhausted quota is not worth retrying."""
CONFIGURE_TIMEOUT = timedelta(minutes=2)


def root_cause(err: BaseException) -> str:
    """The innermost failure's message: ``ActivityError``/``ChildWorkflowError`` only wrap it."""
    while isinstance(err, ActivityError | ChildWorkflowError) and err.cause is not None:
        err = err.cause
    # .message, not str(): str() of a typed ApplicationError leads with its type.
    return err.message if isinstance(err, ApplicationError) else str(err)


@workflow.defn
class ConfigureHost:
    """Configure one provisioned host (a child workflow, one per host)."""

    @workflow.run
    async def run(self, instance_id: str, host: str) -> str:
        return await workflow.execute_activity(
            apply_config, instance_id, host, start_to_close_timeout=CONFIGURE_TIMEOUT
        )


@workflow.defn
class ProvisionBatch:
    """Provision all hosts concurrently, then configure the ones that came up, concurrently."""

    @workflow.run
    async def run(self, request: BatchRequest) -> BatchReport:
        report = BatchReport(request.batch_id)

        # Fan out: one activity per host, all scheduled before any is awaited.
        provisioned = await asyncio.gather(
            *(
                workflow.execute_activity(
                    provision_host,
                    request.batch_id,
                    host,
                    request.image,
                    start_to_close_timeout=PROVISION_TIMEOUT,
                    retry_policy=PROVISION_RETRY,
                )
                for host in request.hosts
            ),
            return_exceptions=True,
        )
        instances: dict[str, str] = {}
        for host, outcome in zip(request.hosts, provisioned, strict=True):
            if isinstance(outcome, ActivityError):
                report.provision_failed.append(Failure(host, root_cause(outcome)))
            elif isinstance(outcome, BaseException):
                raise outcome  # a bug or a cancellation, not a host failure
            else:
                instances[host] = outcome

        # Fan out again: one child workflow per provisioned host.
        configured = await asyncio.gather(
            *(
                workflow.execute_child_workflow(
                    ConfigureHost.run, instance, host, id=f"{request.batch_id}/configure-{host}"
                )
                for host, instance in instances.items()
            ),
            return_exceptions=True,
        )
        for host, outcome in zip(instances, configured, strict=True):
            if isinstance(outcome, ChildWorkflowError):
                report.configure_failed.append(Failure(host, root_cause(outcome)))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                report.ready.append(host)
        return report
