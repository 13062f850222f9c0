"""Fixtures for the migration checker: the fixture Celery project, scanned once."""

from pathlib import Path

import pytest

from migration_checker import ScanResult, scan_project

FIXTURE = Path(__file__).parent / "fixtures" / "celery_project"


@pytest.fixture(scope="session")
def fixture_scan() -> ScanResult:
    return scan_project(FIXTURE)


def line_of(result: ScanResult, path: str, line: int) -> str:
    return (result.root / path).read_text().splitlines()[line - 1]
