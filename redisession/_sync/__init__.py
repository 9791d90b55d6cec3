# Generated from redisession/_async by scripts/gen_sync.py: do not edit.
"""IO code of the store. ``_async`` is the source; ``_sync`` is generated from it."""
