"""Each adapter is an optional extra: importing it without its framework raises an
ImportError that names the extra to install (issue 11)."""

from __future__ import annotations

import importlib
import sys

import pytest

CASES = [("langchain", "langchain_core", "redisession[langchain]"),
         ("llama_index", "llama_index", "redisession[llama-index]"),
         ("openai_agents", "agents", "redisession[openai-agents]")]


@pytest.mark.parametrize(("module", "framework", "extra"), CASES)
def test_missing_framework_names_the_extra(monkeypatch: pytest.MonkeyPatch, module: str,
                                           framework: str, extra: str) -> None:
    for name in list(sys.modules):
        if name == framework or name.startswith(framework + "."):
            monkeypatch.setitem(sys.modules, name, None)
        if name.startswith("redisession.integrations.") and not name.endswith("._common"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, framework, None)  # `import framework` now fails
    with pytest.raises(ImportError, match=extra.replace("[", r"\[").replace("]", r"\]")):
        importlib.import_module(f"redisession.integrations.{module}")


def test_stores_need_a_store_or_a_url() -> None:
    import redis
    import redis.asyncio

    from redisession import AsyncSessionStore, InvalidConfig, SessionStore
    from redisession.integrations._common import Stores

    with pytest.raises(InvalidConfig):
        Stores(None, None, {})
    with pytest.raises(InvalidConfig):
        Stores(object(), None, {})  # type: ignore[arg-type]
    store = SessionStore(redis.Redis())  # never connects
    with pytest.raises(InvalidConfig, match="max_messages"):
        Stores(store, None, {"max_messages": 5})
    with pytest.raises(InvalidConfig, match="async methods"):
        Stores(AsyncSessionStore(redis.asyncio.Redis()), None, {}).sync()
