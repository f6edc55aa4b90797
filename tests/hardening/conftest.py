"""Hardening suites (issue 6): hostile input, security settings, permissions, fuzzing, data safety.

Every test here carries the ``hardening`` marker (``pytest -m hardening``). Hypothesis runs the ``fast`` profile
(few examples) unless ``HYPOTHESIS_PROFILE=reliability`` (``make reliability``) asks for many more.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("fast", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("reliability", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.hardening)
