"""The image's entry point: `docker run IMAGE web|worker|scheduler|release [ARGS]`, or a command.

A role runs its line of the Procfile, the very command `make up` and the tests start, so the
image cannot drift from them. It runs as `sh -c "exec LINE"`: the shell expands the line's
`${VAR:-default}` settings and is then replaced by the role's process, which becomes PID 1 and
receives the platform's SIGTERM itself (no shell in between swallowing it). `release` is the
release step. Anything else runs as given: `docker run IMAGE python -m tasks.inspect queues`.
"""

import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

PROCFILE = Path(__file__).resolve().parents[1] / "Procfile"
# The one role the Procfile has no line for: it runs once per deploy, not as a process.
RELEASE = "python -m deploy.release"


def procfile_entries(text: str) -> dict[str, str]:
    """`name: command` lines, as honcho reads them."""
    entries = {}
    for line in text.splitlines():
        if match := re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line):
            entries[match[1]] = match[2].strip()
    return entries


def command_for(argv: Sequence[str], entries: Mapping[str, str]) -> list[str]:
    """The argv to exec: a role's line (extra arguments appended, quoted), or argv itself."""
    if not argv:
        raise SystemExit(f"usage: {' | '.join([*entries, 'release'])} [ARGS], or a command")
    role, *extra = argv
    roles = {**entries, "release": RELEASE}
    if role not in roles:
        return list(argv)
    line = " ".join([roles[role], *map(shlex.quote, extra)])
    return ["/bin/sh", "-c", f"exec {line}"]


def main() -> None:
    argv = command_for(sys.argv[1:], procfile_entries(PROCFILE.read_text()))
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
