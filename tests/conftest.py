"""Settings every test layer shares."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Property tests of parsers of outside input: no per-example deadline (this machine has two cores and
# runs the e2e stack beside them), and a slow data generator is not a failure.
settings.register_profile(
    "leadhub", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("leadhub")
