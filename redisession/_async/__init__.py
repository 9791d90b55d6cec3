"""IO code of the store. ``_async`` is the source; ``_sync`` is generated from it."""
