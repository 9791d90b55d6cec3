"""Many writers on one session: nothing lost, nothing doubled, seq gap-free, tokens exact."""

from __future__ import annotations

import asyncio
import threading

from redisession import AsyncSessionStore, Message, SessionStore

THREADS, PER_THREAD = 8, 250


def check(history: list[Message], sent: set[str], session_tokens: int, total: int) -> None:
    ids = [m.id for m in history]
    assert len(ids) == len(set(ids)), "a message was stored twice"
    assert set(ids) == sent, f"lost {len(sent - set(ids))} messages"
    assert [m.seq for m in history] == list(range(1, len(sent) + 1)), "seq has gaps or repeats"
    assert session_tokens == sum(m.tokens or 0 for m in history) == total


def test_threads_append_to_one_session(redis_url: str, prefix: str) -> None:
    store = SessionStore.from_url(redis_url, prefix=prefix, max_messages=10_000,
                                  max_tokens=10**9)
    sid = store.create().id
    sent: set[str] = set()
    lock = threading.Lock()
    errors: list[BaseException] = []
    expected_tokens = 0

    def writer(t: int) -> None:
        nonlocal expected_tokens
        try:
            for i in range(PER_THREAD):
                m = Message(role="user", content=f"t{t} m{i}", tokens=t + i % 7)
                store.append(sid, m)
                with lock:
                    sent.add(m.id)
                    expected_tokens += t + i % 7
        except BaseException as e:  # surfaced in the main thread below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    s = store.get(sid)
    assert (s.last_seq, s.message_count, s.total_messages) == (2000, 2000, 2000)
    check(store.history(sid), sent, s.token_count, expected_tokens)
    assert s.total_tokens == expected_tokens
    store.close()


async def test_tasks_append_to_one_session(redis_url: str, prefix: str) -> None:
    store = AsyncSessionStore.from_url(redis_url, prefix=prefix, max_messages=10_000,
                                       max_tokens=10**9)
    sid = (await store.create()).id
    batches = [[Message(role="user", content=f"t{t} m{i}", tokens=1) for i in range(PER_THREAD)]
               for t in range(THREADS)]

    async def writer(batch: list[Message]) -> None:
        for m in batch:
            await store.append(sid, m)

    await asyncio.gather(*(writer(b) for b in batches))
    s = await store.get(sid)
    sent = {m.id for b in batches for m in b}
    check(await store.history(sid), sent, s.token_count, len(sent))
    await store.aclose()
