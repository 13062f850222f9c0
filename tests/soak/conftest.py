"""The soak uses the fault tests' effect tables."""

from tests.faults.conftest import effects

__all__ = ["effects"]
