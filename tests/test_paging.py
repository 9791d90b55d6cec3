"""Big reads in pages of at most PAGE elements, stitched by seq, consistent while other
calls append and trim (issue 9). A tiny PAGE makes every read here take many pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from redisession import AsyncSessionStore, SessionStore, _paging
from redisession.models import Message


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_paging, "PAGE", 4)


@pytest.fixture
def store(redis_url: str, prefix: str, small_pages: None) -> Iterator[SessionStore]:
    with SessionStore.from_url(redis_url, prefix=prefix, max_messages=30,
                               max_history=25) as s:
        yield s


def contiguous(messages: list[Message]) -> bool:
    seqs = [m.seq for m in messages]
    return seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True


def test_paged_reads_match_one_call_reads(store: SessionStore, monkeypatch: Any) -> None:
    sid = store.create().id
    for i in range(47):
        store.append(sid, ("user", f"m{i}"), ("assistant", f"a{i}"))
    paged = (store.messages(sid), store.history(sid), store.context(sid, max_tokens=40))
    monkeypatch.setattr(_paging, "PAGE", 100000)
    whole = (store.messages(sid), store.history(sid), store.context(sid, max_tokens=40))
    assert paged == whole
    assert len(paged[0]) == 30 and len(paged[1]) == 55 and paged[1][-1].seq == 94
    assert 0 < len(paged[2]) < 30 and paged[2][-1].seq == 94


def test_export_in_pages_round_trips(store: SessionStore, tmp_path: Any) -> None:
    sid = store.create(user_id="u").id
    for i in range(40):
        store.add(sid, "user", f"m{i}")
    path = tmp_path / "x.jsonl"
    assert store.export_sessions(path, [sid]) == 1
    before = (store.messages(sid), store.history(sid))
    store.delete(sid)
    assert store.import_sessions(path) == 1
    assert (store.messages(sid), store.history(sid)) == before


def test_reads_stay_consistent_while_another_client_appends(store: SessionStore,
                                                            redis_url: str,
                                                            prefix: str) -> None:
    sid = store.create().id
    for i in range(40):
        store.add(sid, "user", f"seed{i}")
    stop = threading.Event()

    def writer() -> None:
        with SessionStore.from_url(redis_url, prefix=prefix, max_messages=30,
                                   max_history=25) as w:
            while not stop.is_set():
                w.add(sid, "user", "more")

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(40):
            window = store.messages(sid)
            history = store.history(sid)
            context = store.context(sid, max_tokens=30)
            assert len(window) == 30 and contiguous(window)
            assert 30 <= len(history) <= 55 and contiguous(history)
            assert context and contiguous(context) and len(context) <= 30
    finally:
        stop.set()
        t.join(10)


def test_the_cache_refreshes_a_big_delta_in_pages(redis_url: str, prefix: str,
                                                  small_pages: None) -> None:
    settings: dict[str, Any] = dict(prefix=prefix, max_messages=30, max_history=25)
    with SessionStore.from_url(redis_url, cache_size=10, cache_max_age=60.0,
                               consistency="strict", **settings) as cached, \
            SessionStore.from_url(redis_url, **settings) as other:
        sid = cached.create().id
        cached.add(sid, "user", "first")
        assert len(cached.messages(sid)) == 1  # now cached
        for i in range(13):  # 13 new messages: the 'after' read takes 4 pages
            other.add(sid, "user", f"other{i}")
        assert cached.messages(sid) == other.messages(sid)
        assert cached.cache_info().refreshes >= 1
        for i in range(40):  # the cached part is trimmed away meanwhile: a whole-window read
            other.add(sid, "user", f"more{i}")
        assert cached.messages(sid) == other.messages(sid)


async def test_async_paged_reads_match_one_call_reads(redis_url: str, prefix: str,
                                                      small_pages: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    async with AsyncSessionStore.from_url(redis_url, prefix=prefix, max_messages=30,
                                          max_history=25) as store:
        sid = (await store.create()).id
        for i in range(23):
            await store.append(sid, ("user", f"m{i}"), ("assistant", f"a{i}"))
        paged = (await store.messages(sid), await store.history(sid),
                 await store.context(sid, max_tokens=40))
        monkeypatch.setattr(_paging, "PAGE", 100000)
        whole = (await store.messages(sid), await store.history(sid),
                 await store.context(sid, max_tokens=40))
        assert paged == whole and len(paged[0]) == 30 and len(paged[1]) == 46
