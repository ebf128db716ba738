"""A client's data converter (``Client(**{**config, "data_converter": ...})``) is what its
workers' workflows and activities encode and decode with, as on Temporal."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest
import temporalio.converter
import temporalio.worker
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    CompositePayloadConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    PayloadCodec,
)

from pytest_durable.temporal import (
    Client,
    UnsupportedTemporalFeatureError,
    Worker,
    WorkflowEnvironment,
    to_temporal_json,
    to_workflow_history,
)


class Shout:
    """A value only the shouting converter knows how to carry."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shout) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


class ShoutConverter(EncodingPayloadConverter):
    @property
    def encoding(self) -> str:
        return "text/shout"

    def to_payload(self, value: Any) -> Payload | None:
        if not isinstance(value, Shout):
            return None
        return Payload(
            metadata={"encoding": self.encoding.encode()}, data=value.text.upper().encode()
        )

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        return Shout(payload.data.decode())


class ShoutingPayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(
            ShoutConverter(), *DefaultPayloadConverter.default_encoding_payload_converters
        )


shouting = dataclasses.replace(
    temporalio.converter.default(), payload_converter_class=ShoutingPayloadConverter
)


@activity.defn
async def echo(value: Shout) -> Shout:
    return Shout(f"{value.text}, {value.text}")


@workflow.defn
class Greeter:
    @workflow.run
    async def run(self, name: Shout) -> Shout:
        return await workflow.execute_activity(
            echo, Shout(f"hello {name.text}"), start_to_close_timeout=timedelta(seconds=5)
        )

    @workflow.query
    def loud(self, text: Shout) -> Shout:
        return text


class Stamp(pydantic.BaseModel):
    at: datetime
    tags: set[str]


@activity.defn
async def later(stamp: Stamp) -> Stamp:
    return Stamp(at=stamp.at + timedelta(days=1), tags=stamp.tags | {"later"})


@workflow.defn
class Stamper:
    @workflow.run
    async def run(self, stamps: list[Stamp]) -> list[Stamp]:
        return [
            await workflow.execute_activity(later, s, start_to_close_timeout=timedelta(seconds=5))
            for s in stamps
        ]


@pytest.mark.asyncio
async def test_a_custom_payload_converter_carries_workflow_and_activity_values() -> None:
    async with await WorkflowEnvironment.start_time_skipping() as env:
        client = Client(**{**env.client.config(), "data_converter": shouting})
        assert client.data_converter is shouting and client.namespace == "default"
        async with Worker(client, task_queue="q", workflows=[Greeter], activities=[echo]):
            handle = await client.start_workflow(Greeter.run, Shout("ann"), id="g", task_queue="q")
            assert await handle.result() == Shout("HELLO ANN, HELLO ANN")
            assert await handle.query(Greeter.loud, Shout("hey")) == Shout("HEY")
        history = handle._inner.history
        events = json.loads(to_temporal_json(history))["events"]
        started = events[0]["workflowExecutionStartedEventAttributes"]
        payload = started["input"]["payloads"][0]
        # Temporal's JSON keeps the custom encoding exactly (base64 metadata and data).
        assert payload["metadata"]["encoding"] == "dGV4dC9zaG91dA=="  # text/shout
        replayer = temporalio.worker.Replayer(
            workflows=[Greeter],
            data_converter=shouting,
            workflow_runner=temporalio.worker.UnsandboxedWorkflowRunner(),
        )
        await replayer.replay_workflow(to_workflow_history(history))


@pytest.mark.asyncio
async def test_without_the_converter_the_client_cannot_encode_what_it_sends() -> None:
    async with await WorkflowEnvironment.start_time_skipping() as env:  # noqa: SIM117
        async with Worker(env.client, task_queue="q", workflows=[Greeter], activities=[echo]):
            with pytest.raises(TypeError, match="Shout"):
                await env.client.start_workflow(Greeter.run, Shout("x"), id="g", task_queue="q")


@pytest.mark.asyncio
async def test_pydantic_models_round_trip_with_temporalios_pydantic_converter() -> None:
    async with await WorkflowEnvironment.start_local() as env:
        client = Client(**{**env.client.config(), "data_converter": pydantic_data_converter})
        stamps = [Stamp(at=datetime(2030, 1, 1, 12), tags={"a"})]
        async with Worker(client, task_queue="q", workflows=[Stamper], activities=[later]):
            result = await client.execute_workflow(Stamper.run, stamps, id="s", task_queue="q")
        assert result == [Stamp(at=datetime(2030, 1, 2, 12), tags={"a", "later"})]


class _PassThroughCodec(PayloadCodec):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


def test_what_a_client_cannot_do_here_is_refused_by_name() -> None:
    env = asyncio.run(WorkflowEnvironment.start_time_skipping())
    try:
        config = env.client.config()
        codec = dataclasses.replace(
            temporalio.converter.default(), payload_codec=_PassThroughCodec()
        )
        with pytest.raises(UnsupportedTemporalFeatureError, match="payload codec"):
            Client(**{**config, "data_converter": codec})
        with pytest.raises(UnsupportedTemporalFeatureError, match="client interceptors"):
            Client(**{**config, "interceptors": [object()]})
        with pytest.raises(UnsupportedTemporalFeatureError, match="client plugins"):
            Client(**{**config, "plugins": [object()]})
        with pytest.raises(TypeError, match="WorkflowEnvironment as its service_client"):
            Client(**{**config, "service_client": object()})
        assert env.client.service_client is env
        assert Client(**config).config()["namespace"] == "default"
    finally:
        asyncio.run(env.shutdown())


@pytest.mark.asyncio
async def test_temporalios_environment_options_build_the_client_or_have_nothing_to_do() -> None:
    start = datetime(2031, 5, 1, tzinfo=UTC)
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=shouting,
        test_server_download_version="1.2.3",
        port="7233",
        start_time=start,  # ours
    )
    async with env, Worker(env.client, task_queue="q", workflows=[Greeter], activities=[echo]):
        assert env.client.data_converter is shouting
        assert await env.get_current_time() == start
        result = await env.client.execute_workflow(Greeter.run, Shout("x"), id="g", task_queue="q")
        assert result == Shout("HELLO X, HELLO X")
    local = await WorkflowEnvironment.start_local(
        namespace="team", ui=True, dev_server_download_version="v1.7.4"
    )
    async with local:
        assert local.client.namespace == "team"
        with pytest.raises(TypeError, match="no_such_option"):
            await WorkflowEnvironment.start_local(no_such_option=1)
