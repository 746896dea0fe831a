"""Harnesses for tests and tools (the outage test, ``scripts/stress.py``, ``benchmarks/``).

Never imported by production code: a test in ``bookit/tests/test_settings.py`` checks it.
"""
