"""Workflow definitions and inheritance: a run method cannot be shared by two workflow types."""

from __future__ import annotations

import pytest

from pytest_durable import DurableEnvironment, InvalidDefinitionError, workflow


@workflow.defn
class Greeter:
    @workflow.run
    async def run(self) -> str:
        return self.greeting()

    def greeting(self) -> str:
        return "hello"


def test_inherited_run_is_rejected_and_the_parent_is_untouched() -> None:
    with pytest.raises(InvalidDefinitionError, match="must be defined on LoudGreeter itself"):

        @workflow.defn(name="LoudGreeter")
        class LoudGreeter(Greeter):
            def greeting(self) -> str:
                return "HELLO"

    with DurableEnvironment() as env:
        assert env.run(Greeter.run).result() == "hello"
        assert env.handles[0].history.workflow_type == "Greeter"


def test_overridden_run_makes_a_separate_workflow() -> None:
    @workflow.defn(name="LoudGreeter")
    class LoudGreeter(Greeter):
        @workflow.run
        async def run(self) -> str:
            return (await super().run()).upper()

    with DurableEnvironment() as env:
        assert env.run(LoudGreeter.run).result() == "HELLO"
        assert env.run(Greeter.run).result() == "hello"
        assert [h.history.workflow_type for h in env.handles] == ["LoudGreeter", "Greeter"]
