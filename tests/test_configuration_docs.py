"""`.env.example` and the README document every setting, with the real defaults."""

import re

from dotenv import dotenv_values
from honcho.environ import parse as honcho_parse

from core.settings import Settings
from tests.support.processes import ROOT

# Read by the Procfile, not by Settings.
PROCESS_ONLY = {"HOST", "PORT", "WORKER_CONCURRENCY", "WORKER_DRAIN_SECONDS"}


def example() -> str:
    return (ROOT / ".env.example").read_text()


def test_every_setting_is_in_env_example_with_its_default() -> None:
    names = {name.upper() for name in Settings.model_fields}
    documented = set(honcho_parse(example()))
    assert documented - PROCESS_ONLY == names
    values = {k.lower(): v for k, v in honcho_parse(example()).items() if k not in PROCESS_ONLY}
    assert Settings(_env_file=None, **values) == Settings(_env_file=None)


def test_honcho_and_dotenv_read_env_example_alike() -> None:
    # honcho loads `.env` for the Procfile, pydantic-settings (python-dotenv) for Settings.
    assert honcho_parse(example()) == dotenv_values(ROOT / ".env.example")


def test_readme_configuration_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.MULTILINE))
    assert rows == set(honcho_parse(example()))
