"""Benchmarks and the load-test tool (importable so that tests reuse the load tool's users and checks)."""
