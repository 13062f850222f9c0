"""The external project of docs/adopting.md: its files, taken from the guide, and a handle on it
while it runs (its web API, database and streams).

The guide's code blocks tagged with a path (```` ```python shop/tasks.py ````) are the project:
`guide_files()` reads them, so what the test runs is what the guide shows.
"""

import asyncio
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
from redis import Redis as SyncRedis

from tests.delivery.conftest import StreamView
from tests.support.processes import ROOT, StackProcess

GUIDE = ROOT / "docs" / "adopting.md"
# A fence whose info string is a language and a relative path: one file of the project.
_FILE_BLOCK = re.compile(
    r"^```\w+ (?P<path>[\w./-]+)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL
)
_PROCFILE_LINE = re.compile(r"^(\w+):\s*(.+)$")


def guide_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for match in _FILE_BLOCK.finditer(GUIDE.read_text()):
        path = match["path"]
        if path in files:
            raise AssertionError(f"{GUIDE.name} shows {path} twice")
        if path.startswith("/") or ".." in Path(path).parts:
            raise AssertionError(f"{GUIDE.name}: {path} is not a path inside the project")
        files[path] = match["body"]
    return files


def write_project(root: Path) -> dict[str, str]:
    """Write the guide's files under `root`; returns its Procfile's entries."""
    files = guide_files()
    for path, body in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    return {
        match[1]: match[2]
        for line in files["Procfile"].splitlines()
        if (match := _PROCFILE_LINE.match(line))
    }


@dataclass
class Shop:
    root: Path
    web_url: str
    admin_token: str
    # Plain libpq DSN of the shop's own database, for the test's own reads.
    dsn: str
    redis: SyncRedis
    prefix: str
    env: dict[str, str]
    processes: dict[str, StackProcess] = field(default_factory=dict)

    def client(self, *, admin: bool = False) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.admin_token}"} if admin else {}
        return httpx.Client(base_url=self.web_url, headers=headers, timeout=30)

    def stream(self, queue: str) -> StreamView:
        return StreamView(self.redis, f"{self.prefix}:queue:{queue}", f"{self.prefix}:workers")

    def pending_tasks(self, queue: str) -> set[str]:
        """Ids of the tasks whose messages a worker holds on `queue` (delivered, not acked)."""
        view = self.stream(queue)
        entries = self.redis.xpending_range(view.stream, view.group, "-", "+", 10_000)
        task_ids = set()
        for entry in entries:
            message_id = entry["message_id"]
            # redis-py types stream replies loosely; decoded, each is [(id, {field: value})].
            found = cast(
                list[tuple[str, dict[str, str]]],
                self.redis.xrange(view.stream, message_id, message_id),
            )
            task_ids |= {str(json.loads(fields["data"])["task_id"]) for _, fields in found}
        return task_ids

    def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def fetch() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.dsn)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        return asyncio.run(fetch())

    def status(self, task_id: str) -> dict[str, Any]:
        with self.client() as client:
            answer = client.get(f"/tasks/{task_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run `command` in the shop's directory, with its processes' environment."""
        return subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def alive(self) -> None:
        for name, process in self.processes.items():
            if process.popen.poll() is not None:
                raise AssertionError(f"{name} exited:\n{process.log()}")
