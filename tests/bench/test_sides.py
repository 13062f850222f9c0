from pathlib import Path

import pytest

from bench.sides import procfile_command

PROCFILE = """\
web: uvicorn app.main:app --port ${PORT:-8000}
worker: taskiq worker tasks.broker:broker tasks.registry --workers ${WORKER_PROCESSES:-2}
scheduler:   taskiq scheduler scheduler.main:scheduler tasks.registry
"""


@pytest.mark.parametrize(
    ("process", "expected"),
    [
        ("web", "uvicorn app.main:app --port ${PORT:-8000}"),
        (
            "worker",
            "taskiq worker tasks.broker:broker tasks.registry --workers ${WORKER_PROCESSES:-2}",
        ),
        ("scheduler", "taskiq scheduler scheduler.main:scheduler tasks.registry"),
    ],
)
def test_procfile_command(tmp_path: Path, process: str, expected: str) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text(PROCFILE)
    assert procfile_command(procfile, process) == expected


def test_procfile_without_the_process(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text(PROCFILE)
    with pytest.raises(ValueError, match="no 'release' process"):
        procfile_command(procfile, "release")
