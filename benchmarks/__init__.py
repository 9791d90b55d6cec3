"""Benchmarks of redisession against the physical limit of one Redis, run with
``python -m benchmarks`` (``--quick`` for a smoke run).

Every timed row runs once per round and rounds interleave (A, B, C, A, B, C, ...), so machine
drift hits every row alike; the table shows medians across rounds.
"""
