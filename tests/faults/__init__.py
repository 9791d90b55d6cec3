"""The fault suite: real redis-server processes, real faults, one test per scenario.

Each test prints a ``FAULT-RESULT`` line with its figures; ``python -m tests.faults.report``
runs the suite and turns those lines into the table of ``docs/reliability.md``.
"""
