"""Shared test configuration.

Hypothesis profiles, chosen with the HYPOTHESIS_PROFILE environment variable:

    pytest                               # "default": quick enough for every commit / CI
    HYPOTHESIS_PROFILE=thorough pytest   # many more examples, for a deliberate hunt
    HYPOTHESIS_PROFILE=ci pytest         # same budget as default, derandomized (reproducible)

A test that needs a different budget can still override it with its own @settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.too_slow]

settings.register_profile("default", max_examples=50, deadline=None,
                          suppress_health_check=_SLOW_OK)
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True,
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.register_profile("thorough", max_examples=1500, deadline=None,
                          suppress_health_check=_SLOW_OK, print_blob=True)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
