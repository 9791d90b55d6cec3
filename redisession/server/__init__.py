"""The HTTP service over `AsyncSessionStore` (extra ``server``): ``redisession serve``.

A thin translation: every route is one or two calls of the public store API, so the store's
guarantees (atomic scripts, trimming, TTL, events, cache) reach HTTP clients unchanged.
"""

from .app import ServerSettings, create_app

__all__ = ["ServerSettings", "create_app"]
