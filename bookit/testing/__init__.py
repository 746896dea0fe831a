"""Harnesses for tests and tools: live servers (``live_server``), nginx in front of them (``balancer``),
throwaway PostgreSQL clusters and standbys (``postgres``), and what system tests need from the machine
(``requirements``); used by the system tests in ``tests/``, ``scripts/stress.py`` and ``benchmarks/``.

Never imported by production code: a test in ``tests/test_live_server.py`` checks it.
"""
