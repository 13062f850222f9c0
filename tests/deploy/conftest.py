import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: starts real embedded servers or the whole stack (seconds, not ms)"
    )
