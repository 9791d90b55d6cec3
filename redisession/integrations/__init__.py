"""Adapters for LLM frameworks, each an optional extra.

- `redisession.integrations.langchain`: ``RedisessionChatMessageHistory``
  (``pip install "redisession[langchain]"``)
- `redisession.integrations.llama_index`: ``RedisessionChatStore`` and
  ``RedisessionDBChatStore`` (``pip install "redisession[llama-index]"``)
- `redisession.integrations.openai_agents`: ``RedisessionSession``
  (``pip install "redisession[openai-agents]"``)

Each is a translation over the public store API and makes no Redis call of its own, so every
guarantee of the store (atomic scripts, trimming, TTL on every key, events, the local cache)
reaches the framework unchanged.
"""
