"""The asyncio and sync redis-py surfaces under parallel names.

The async store imports the ``Async*``/``redis_async`` names; scripts/gen_sync.py (unasync)
rewrites them to the ``Sync*``/``redis_sync`` ones when it generates the sync store.
"""

import redis as redis_sync
import redis.asyncio as redis_async
from redis.asyncio.retry import Retry as AsyncRetry
from redis.retry import Retry as SyncRetry

__all__ = ["AsyncRetry", "SyncRetry", "redis_async", "redis_sync"]
