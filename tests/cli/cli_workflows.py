"""Workflows the command-line tests record and replay."""

from __future__ import annotations

from datetime import timedelta

from pytest_durable import activity, workflow


@activity.defn
async def greet(name: str) -> str:
    return f"hello {name}"


@workflow.defn
class Greeter:
    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(hours=1))
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn(name="Greeter")
class ChangedGreeter:
    """The same workflow type after a careless edit: the timer and the activity swapped."""

    @workflow.run
    async def run(self, name: str) -> str:
        result = await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.sleep(timedelta(hours=1))
        return str(result)


@activity.defn
async def audit(name: str) -> None:
    return None


@workflow.defn(name="Greeter")
class AuditedGreeter:
    """The same workflow type with one activity inserted before everything else."""

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.execute_activity(audit, name, start_to_close_timeout=timedelta(seconds=10))
        await workflow.sleep(timedelta(hours=1))
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
