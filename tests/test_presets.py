"""Presets: named bundles of settings (SessionConfig.preset, from_url(preset=))."""

from __future__ import annotations

import pytest


def test_presets_bundle_settings_and_overrides_win() -> None:
    from redisession import InvalidConfig, SessionConfig

    interactive = SessionConfig.preset("interactive")
    assert interactive.touch_on_read and interactive.session_events and interactive.cache_size
    batch = SessionConfig.preset("batch", ttl=60)
    assert not batch.events and batch.cache_size == 0 and batch.ttl == 60
    throughput = SessionConfig.preset("throughput")
    assert throughput.events and not throughput.session_events and not throughput.touch_on_read
    with pytest.raises(InvalidConfig):
        SessionConfig.preset("fast")
    with pytest.raises(InvalidConfig):
        SessionConfig.preset("batch", cache_size=10)  # a cache with no events to keep it


def test_from_url_takes_a_preset(redis_url: str, prefix: str) -> None:
    from redisession import SessionStore

    store = SessionStore.from_url(redis_url, preset="batch", prefix=prefix)
    try:
        assert store.config.events is False and store.config.prefix == prefix
        s = store.create()
        store.add(s.id, "user", "hi")
        assert [m.content for m in store.messages(s.id)] == ["hi"]
    finally:
        store.close()
