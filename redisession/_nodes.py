"""Several commands on ONE connection to the node that owns a key: a write script and the
WAIT after it (WAIT counts only the writes of its own connection).

Hand-written sync and asyncio twins, because redis-py's cluster clients differ here: the sync
one hands out a per-node ``Redis`` client, the asyncio one a ``ClusterNode`` with a pipeline
of its own. scripts/gen_sync.py maps each ``*_async`` name below to its ``*_sync`` twin.
On Cluster, redis-py refuses EVALSHA in cluster pipelines, hence the node's own connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import PipelineCommand
from redis.exceptions import RedisClusterException, RedisError


def is_cluster(client: Any) -> bool:
    return hasattr(client, "nodes_manager")


async def pipeline_async(client: Any, key: str, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Send ``commands`` in one round trip on one connection of the node owning ``key``;
    each reply, or the exception it raised, in order. Connection errors raise."""
    if not is_cluster(client):
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute(raise_on_error=False))
    node = client.get_node_from_key(key)
    cmds = [PipelineCommand(i, *command) for i, command in enumerate(commands)]
    await node.execute_pipeline(cmds)
    return [c.result for c in cmds]


def pipeline_sync(client: Any, key: str, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    """The sync twin of `pipeline_async`."""
    if is_cluster(client):
        client = client.get_redis_connection(client.get_node_from_key(key))
    pipe = client.pipeline(transaction=False)
    for command in commands:
        pipe.execute_command(*command)
    return list(pipe.execute(raise_on_error=False))


async def refresh_async(client: Any, pause: float) -> None:
    """After a connection error or MOVED: wait ``pause`` s, then re-read the cluster's slots
    (a cluster in the middle of a failover may not answer yet: the next try finds out)."""
    await asyncio.sleep(pause)
    if is_cluster(client):
        try:
            await client.nodes_manager.initialize()
        except (RedisError, RedisClusterException):
            pass


def refresh_sync(client: Any, pause: float) -> None:
    """The sync twin of `refresh_async`."""
    time.sleep(pause)
    if is_cluster(client):
        try:
            client.nodes_manager.initialize()
        except (RedisError, RedisClusterException):
            pass
