"""OpenAI Agents adapter: the same random operations on RedisessionSession and on the SDK's
SQLiteSession(":memory:") give the same items; Runner.run uses it over a scripted model with
a tool call, for several turns (issue 11)."""

from __future__ import annotations

import random
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, Runner, function_tool, set_tracing_disabled  # noqa: E402
from agents.items import ModelResponse  # noqa: E402
from agents.memory import SQLiteSession  # noqa: E402
from agents.memory.session_settings import SessionSettings  # noqa: E402
from agents.models.interface import Model  # noqa: E402
from agents.usage import Usage  # noqa: E402
from openai.types.responses import (  # noqa: E402
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
)

from redisession import AsyncSessionStore, SessionStore  # noqa: E402
from redisession.integrations.openai_agents import RedisessionSession  # noqa: E402

SEQUENCES = 200
BIG = {"max_messages": 10_000, "max_tokens": 10_000_000}
set_tracing_disabled(True)


def turn(rng: random.Random, t: int) -> list[dict[str, Any]]:
    """One turn's items as the SDK saves them: user, reasoning/calls/outputs, answer."""
    items: list[dict[str, Any]] = [
        rng.choice([{"role": "user", "content": f"q{t} ✓"},
                    {"type": "message", "role": "user",
                     "content": [{"type": "input_text", "text": f"q{t}"}]}])]
    for step in range(rng.randint(0, 2)):
        if rng.random() < 0.5:
            items.append({"type": "reasoning", "id": f"rs_{t}{step}",
                          "summary": [{"type": "summary_text", "text": "think"}]})
        calls = [f"call_{t}{step}{j}" for j in range(rng.randint(1, 2))]
        items += [{"type": "function_call", "call_id": c, "name": "lookup", "id": f"fc_{c}",
                   "arguments": '{"city": "Zürich", "n": 1.5}', "status": "completed"}
                  for c in calls]
        items += [{"type": "function_call_output", "call_id": c,
                   "output": rng.choice(["sunny", '{"t": 21}'])} for c in calls]
    items.append({"type": "message", "role": "assistant", "id": f"msg_{t}", "status": "completed",
                  "content": [{"type": "output_text", "text": f"a{t}", "annotations": []}]})
    return items


def script(rng: random.Random) -> list[tuple[str, Any]]:
    ops: list[tuple[str, Any]] = []
    for t in range(rng.randint(1, 5)):
        items = turn(rng, t)
        cut = rng.randint(0, len(items))
        ops += [("add", items[:cut]), ("add", items[cut:])]
        r = rng.random()
        if r < 0.3:
            ops += [("pop", None)] * rng.randint(1, 3)
        elif r < 0.4:
            ops.append(("clear", None))
        ops.append(("get", rng.choice([None, 0, 1, 2, 5, -1])))
    return ops


async def run_both(ours: Any, ref: Any, ops: list[tuple[str, Any]], seed: int) -> None:
    for op, arg in ops:
        if op == "add":
            got = [await s.add_items(list(arg)) for s in (ours, ref)]
        elif op == "pop":
            got = [await s.pop_item() for s in (ours, ref)]
        elif op == "clear":
            got = [await s.clear_session() for s in (ours, ref)]
        else:
            got = [await s.get_items(arg) for s in (ours, ref)]
        assert got[0] == got[1], (seed, op, arg)
    assert await ours.get_items() == await ref.get_items(), seed


@pytest.mark.parametrize("flavour", ["async", "sync", "async-cached"])
async def test_differential(redis_url: str, prefix: str, flavour: str) -> None:
    """200 seeded sequences on the async store, 200 on the sync one (run in a thread), and 200
    on an async store with its local cache on (pops and clears must not leave it stale)."""
    cache = {"cache_size": 50, "cache_max_age": 60.0} if flavour.endswith("cached") else {}
    store: Any = (SessionStore if flavour == "sync" else AsyncSessionStore).from_url(
        redis_url, prefix=prefix, **BIG, **cache)
    try:
        for seed in range(SEQUENCES):
            rng = random.Random({"async": 0, "sync": 50_000}.get(flavour, 60_000) + seed)
            ref = SQLiteSession(f"s{seed}", ":memory:")
            await run_both(RedisessionSession(f"s{seed}", store=store), ref, script(rng), seed)
            ref.close()
    finally:
        await store.aclose() if flavour != "sync" else store.close()


async def test_session_settings_limit_and_trimming(redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix, max_messages=6) as store:
        ours = RedisessionSession("lim", store=store, session_settings={"limit": 2})
        ref = SQLiteSession("lim", ":memory:", session_settings=SessionSettings(limit=2))
        rng = random.Random(7)
        items = [i for t in range(4) for i in turn(rng, t)]
        for s in (ours, ref):
            await s.add_items(items)
        assert await ours.get_items() == await ref.get_items() == items[-2:]
        window = await ours.get_items(limit=-1)
        assert window == items[-len(window):] and len(window) <= 6
        calls = {i["call_id"] for i in window if i.get("type") == "function_call"}
        assert {i["call_id"] for i in window if i.get("type") == "function_call_output"} <= calls
        ref.close()


def _text_message(text: str, n: int) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=f"msg_{n}", type="message", role="assistant", status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])])


class ScriptedModel(Model):
    """Asks for the weather tool once per user question, then answers with its output."""

    def __init__(self) -> None:
        self.inputs: list[list[Any]] = []

    async def get_response(self, system_instructions: Any, input: Any, model_settings: Any,
                           tools: Any, output_schema: Any, handoffs: Any, tracing: Any,
                           **kwargs: Any) -> ModelResponse:
        items = [input] if isinstance(input, str) else list(input)
        self.inputs.append(items)
        n = len(self.inputs)
        last = items[-1]
        if isinstance(last, dict) and last.get("type") == "function_call_output":
            out: list[Any] = [_text_message(f"It is {last['output']}.", n)]
        else:
            out = [ResponseReasoningItem(id=f"rs_{n}", type="reasoning", summary=[]),
                   ResponseFunctionToolCall(type="function_call", call_id=f"call_{n}",
                                            name="weather", arguments='{"city": "Paris"}',
                                            id=f"fc_{n}", status="completed")]
        return ModelResponse(output=out, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


async def test_runner_uses_the_session(redis_url: str, prefix: str) -> None:
    model = ScriptedModel()
    agent = Agent(name="forecaster", instructions="Answer briefly.", model=model,
                  tools=[weather])
    session = RedisessionSession("agent-1", url=redis_url, prefix=prefix)
    try:
        for t in range(3):
            result = await Runner.run(agent, f"weather {t}?", session=session)
            assert result.final_output == "It is sunny in Paris."
        items = await session.get_items()
        kinds = [i.get("type", "message") for i in items]
        assert kinds == ["message", "reasoning", "function_call", "function_call_output",
                         "message"] * 3
        assert [i["content"] for i in items[::5]] == ["weather 0?", "weather 1?", "weather 2?"]
        # the third run's first model call saw both earlier turns, read back from Redis
        third = model.inputs[4]
        assert len(third) == 11 and third[-1]["content"] == "weather 2?"
        assert [i.get("call_id") for i in third[:10] if i.get("type") == "function_call"] == [
            "call_1", "call_3"]
        popped = await session.pop_item()
        assert popped is not None and popped["content"][0]["text"] == "It is sunny in Paris."
        assert len(await session.get_items()) == 14
        await session.clear_session()
        assert await session.get_items() == []
    finally:
        await session.aclose()


async def test_a_cancelled_add_still_finishes_its_write(redis_url: str, prefix: str) -> None:
    """As the SDK's own sessions: cancelling the caller does not abandon a write halfway in
    doubt; the items are stored, then the cancellation is raised."""
    import asyncio

    async with AsyncSessionStore.from_url(redis_url, prefix=prefix) as store:
        session = RedisessionSession("cancel", store=store)
        items = turn(random.Random(1), 0)
        task = asyncio.ensure_future(session.add_items(items))
        await asyncio.sleep(0)  # the add has started its write
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await session.get_items() == items
