"""LangChain adapter: the same random operations on RedisessionChatMessageHistory and on
LangChain's InMemoryChatMessageHistory give the same messages; RunnableWithMessageHistory
runs over it for several turns (issue 11)."""

from __future__ import annotations

import random
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.chat_history import InMemoryChatMessageHistory  # noqa: E402
from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import (  # noqa: E402
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder  # noqa: E402
from langchain_core.runnables.history import RunnableWithMessageHistory  # noqa: E402

from redisession import AsyncSessionStore, SessionStore  # noqa: E402
from redisession.integrations.langchain import RedisessionChatMessageHistory  # noqa: E402

# LangChain 1.x deprecates InMemoryChatMessageHistory and RunnableWithMessageHistory (the
# reference store and the runner this issue names); they still work and are what apps use.
pytestmark = pytest.mark.filterwarnings(
    "ignore::langchain_core._api.deprecation.LangChainDeprecationWarning")

SEQUENCES = 200
BIG = {"max_messages": 10_000, "max_tokens": 10_000_000}


def random_message(rng: random.Random, i: int) -> BaseMessage:
    """A message of any kind but a tool call or result (those come in pairs: `turn`)."""
    text = rng.choice(["hi", "Grüße 🌍", "", "a" * rng.randint(1, 300), f"turn {i}"])
    kind = rng.randrange(6)
    if kind == 0:
        return HumanMessage(content=text or "x", id=rng.choice([None, f"h{i}"]))
    if kind == 1:
        return HumanMessage(content=[{"type": "text", "text": text},
                                     {"type": "image_url", "image_url": {"url": "data:,x"}}])
    if kind == 2:
        return AIMessage(content=text, additional_kwargs={"refusal": None, "nums": [1.5, -2]},
                         response_metadata={"model_name": "fake", "finish_reason": "stop"},
                         id=f"run-{i}", name=rng.choice([None, "bot"]))
    if kind == 3:
        return SystemMessage(content=text or "be brief")
    if kind == 4:
        return ChatMessage(role=rng.choice(["critic", "user"]), content=text or "x")
    return AIMessage(content=text or "ok", usage_metadata={"input_tokens": 3, "output_tokens": 4,
                                                           "total_tokens": 7})


def turn(rng: random.Random, i: int) -> list[BaseMessage]:
    """Plain messages, or an assistant tool call followed by a result for each call."""
    if rng.random() < 0.6:
        return [random_message(rng, i) for _ in range(rng.randint(0, 3))]
    ids = [f"c{i}.{j}" for j in range(rng.randint(1, 3))]
    call = AIMessage(content=rng.choice(["", "let me look"]), id=f"run-{i}",
                     tool_calls=[{"name": "search", "args": {"q": k, "n": rng.randint(0, 9)},
                                  "id": k} for k in ids])
    results = [ToolMessage(content=rng.choice(["{}", "ok ✓"]), tool_call_id=k,
                           artifact={"k": [i]}, status=rng.choice(["success", "error"]))
               for k in ids]
    return [call, *results, *([AIMessage("done")] if rng.random() < 0.5 else [])]


def script(rng: random.Random) -> list[tuple[str, Any]]:
    """Random operations; a turn may be added in two calls, a clear comes between turns."""
    ops: list[tuple[str, Any]] = []
    for i in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.6:
            messages = turn(rng, i)
            cut = rng.randint(0, len(messages))
            ops += [("add", messages[:cut]), ("add", messages[cut:])]
        elif r < 0.7:
            ops.append(("clear", None))
        elif r < 0.8:
            ops.append(("user", f"u{i}"))
        elif r < 0.9:
            ops.append(("ai", f"a{i}"))
        else:
            ops.append(("read", None))
    return ops


def test_differential_sync(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix, **BIG) as store:
        for seed in range(SEQUENCES):
            rng = random.Random(seed)
            ours = RedisessionChatMessageHistory(f"lc-{seed}", store=store)
            ref = InMemoryChatMessageHistory()
            for op, arg in script(rng):
                for h in (ours, ref):
                    if op == "add":
                        h.add_messages(arg)
                    elif op == "clear":
                        h.clear()
                    elif op == "user":
                        h.add_user_message(arg)
                    elif op == "ai":
                        h.add_ai_message(arg)
                assert ours.messages == ref.messages, (seed, op)


async def test_differential_async(redis_url: str, prefix: str) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix, **BIG) as store:
        for seed in range(SEQUENCES):
            rng = random.Random(10_000 + seed)
            ours = RedisessionChatMessageHistory(f"lc-{seed}", store=store)
            ref = InMemoryChatMessageHistory()
            for op, arg in script(rng):
                for h in (ours, ref):
                    if op == "add":
                        await h.aadd_messages(arg)
                    elif op == "clear":
                        await h.aclear()
                    elif op in ("user", "ai"):
                        msg = HumanMessage(arg) if op == "user" else AIMessage(arg)
                        await h.aadd_messages([msg])
                assert await ours.aget_messages() == await ref.aget_messages(), (seed, op)


def test_trimming_is_the_documented_difference(redis_url: str, prefix: str) -> None:
    """With max_messages=4 the adapter holds the newest 4 messages the reference holds, and
    never starts on a tool result whose call was trimmed."""
    with SessionStore.from_url(redis_url, prefix=prefix, max_messages=4) as store:
        ours = RedisessionChatMessageHistory("trim", store=store)
        ref = InMemoryChatMessageHistory()
        for i in range(6):
            turn = [HumanMessage(f"q{i}"), AIMessage(f"a{i}")]
            ours.add_messages(turn)
            ref.add_messages(turn)
            assert ours.messages == ref.messages[-4:]
        call = AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "t1"}])
        turn = [HumanMessage("q"), call, ToolMessage("r", tool_call_id="t1"), AIMessage("done")]
        ours.add_messages(turn[:2])
        ours.add_messages(turn[2:])
        ref.add_messages(turn)
        assert ours.messages == ref.messages[-4:] == turn
        for extra in ("x1", "x2"):
            ours.add_messages([AIMessage(extra)])
            ref.add_messages([AIMessage(extra)])
        # the newest 4 would start on the tool result whose call the limit dropped: it goes too
        assert ref.messages[-4] == ToolMessage("r", tool_call_id="t1")
        assert ours.messages == ref.messages[-3:]
        ours.clear()
        ours.add_messages([ToolMessage("orphan", tool_call_id="zz"), HumanMessage("next")])
        assert ours.messages == [HumanMessage("next")]  # a window never starts on a result


class RecordingChatModel(BaseChatModel):
    """A fake chat model: answers with how many messages it was given, and records them."""

    seen: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        reply = AIMessage(f"reply {len(self.seen)} after {len(messages)} messages",
                          response_metadata={"turn": len(self.seen)})
        return ChatResult(generations=[ChatGeneration(message=reply)])


def chain(model: RecordingChatModel, get: Any) -> RunnableWithMessageHistory:
    prompt = ChatPromptTemplate.from_messages([("system", "You are terse."),
                                               MessagesPlaceholder("history"), ("human", "{q}")])
    return RunnableWithMessageHistory(prompt | model, get, input_messages_key="q",
                                      history_messages_key="history")


def test_runnable_with_message_history(redis_url: str, prefix: str) -> None:
    model = RecordingChatModel(seen=[])
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        runnable = chain(model, lambda sid: RedisessionChatMessageHistory(sid, store=store))
        config = {"configurable": {"session_id": "conv-1"}}
        for turn in range(4):
            out = runnable.invoke({"q": f"question {turn}"}, config=config)
            assert out.content == f"reply {turn + 1} after {2 + 2 * turn} messages"
        seen = model.seen[-1]
        assert [m.content for m in seen[1:-1]] == [
            x for t in range(3) for x in (f"question {t}", f"reply {t + 1} after {2 + 2 * t} "
                                                          "messages")]
        stored = RedisessionChatMessageHistory("conv-1", store=store).messages
        assert len(stored) == 8 and stored[-1].response_metadata == {"turn": 4}
        assert store.get("conv-1").message_count == 8


async def test_runnable_with_message_history_async(redis_url: str, prefix: str) -> None:
    model = RecordingChatModel(seen=[])
    history = RedisessionChatMessageHistory("conv-2", url=redis_url, prefix=prefix)
    try:
        runnable = chain(model, lambda sid: history)
        config = {"configurable": {"session_id": "conv-2"}}
        for turn in range(3):
            out = await runnable.ainvoke({"q": f"q{turn}"}, config=config)
            assert out.content == f"reply {turn + 1} after {2 + 2 * turn} messages"
        assert [m.content for m in await history.aget_messages()][::2] == ["q0", "q1", "q2"]
        assert history.stores.aio() is not None and history.stores._sync is None  # no threads
    finally:
        await history.aclose()


async def test_async_methods_on_a_sync_store(redis_url: str, prefix: str) -> None:
    with SessionStore.from_url(redis_url, prefix=prefix) as store:
        history = RedisessionChatMessageHistory("sync-backed", store=store)
        await history.aadd_messages([HumanMessage("a"), AIMessage("b")])
        assert [m.content for m in await history.aget_messages()] == ["a", "b"]
        await history.aclear()
        assert history.messages == []
