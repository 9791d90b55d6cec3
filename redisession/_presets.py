"""Named bundles of `SessionConfig` settings (`SessionConfig.preset`), and what each trades.

Each bundle names every setting it decides, so a preset reads as a table (README "Presets").
A caller's own keyword arguments win over the bundle. Every preset says ``durability="none"``:
waiting for replicas needs replicas, and a preset must work on any Redis; pass
``durability="replicas"`` with it where the deployment has them.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # Chat UIs: reads served locally and kept alive by reading, per-session channels for
    # streaming followers and live tails, small delta batches for a smooth stream.
    "interactive": {
        "cache_size": 10_000, "consistency": "eventual", "touch_on_read": True,
        "events": True, "session_events": True, "dedup_ttl": 120,
        "reply_batch_chars": 32, "reply_batch_interval": 0.02, "sweep_interval": 10.0,
        "durability": "none",
    },
    # Offline jobs (evaluations, imports, agents in a queue): no pub/sub traffic, no local
    # cache to keep coherent, a long retry memory, big delta batches.
    "batch": {
        "cache_size": 0, "consistency": "eventual", "touch_on_read": False,
        "events": False, "session_events": False, "dedup_ttl": 600,
        "reply_batch_chars": 1024, "reply_batch_interval": 0.5, "sweep_interval": None,
        "durability": "none",
    },
    # Many appends per second: the store channel for cache coherence only, no per-session
    # publish, reads that never write, user-index moves spread out.
    "throughput": {
        "cache_size": 10_000, "consistency": "eventual", "touch_on_read": False,
        "events": True, "session_events": False, "dedup_ttl": 120, "index_interval": 5.0,
        "reply_batch_chars": 256, "reply_batch_interval": 0.1, "sweep_interval": None,
        "durability": "none",
    },
}
"""Every preset's settings."""


def preset_settings(name: str) -> dict[str, Any]:
    """The settings of preset ``name``; KeyError-free: an unknown name raises ValueError."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])
