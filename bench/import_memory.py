"""Peak memory of one large import: `python -m bench.import_memory [--mb 100]`.

Generates a CSV of `--mb` MiB (about 55 bytes a row), starts the real `web` and `worker`
Procfile entries on a fresh database (the release step migrates it) with UPLOAD_MAX_BYTES raised
to fit, streams the file to POST /imports in 1 MiB pieces (chunked, so the web process never
gets the size up front), and reads every 0.1 s the peak resident memory (VmHWM) of the web
process and of each worker child until the import finishes. Prints and writes (bench/results/)
the peaks, next to the targets of issue 16: worker child under 200 MB, web under 250 MB,
whatever the file size.

Servers: BENCH_DATABASE_URL / BENCH_REDIS_URL, else the local defaults.
"""

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
from sqlalchemy.engine import make_url

from core.settings import Settings
from deploy.release import release

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MB = 1024 * 1024
PIECE = MB
TARGETS_MB = {"worker_child": 200, "web": 250}


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {m[1]: m[2] for line in lines if (m := re.match(r"^(\w+):\s*(.+)$", line))}


def write_csv(path: Path, size: int) -> int:
    """A CSV of at least `size` bytes; returns its rows."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("order_id,customer,amount,currency,created_at\n")
        written = 0
        while written < size:
            block = "".join(
                f"big-{rows + i:08d},customer {(rows + i) % 997},{(rows + i) % 100000}.50,"
                f"{('EUR', 'USD')[(rows + i) % 2]},2026-11-{1 + (rows + i) % 28:02d}T12:00:00\n"
                for i in range(10_000)
            )
            out.write(block)
            written += len(block)
            rows += 10_000
    return rows


def pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as body:
        while data := body.read(PIECE):
            yield data


class Peaks:
    """The highest RSS of the web process and of any one worker child, sampled every 0.1 s."""

    def __init__(self, web: int, worker: int) -> None:
        self.web, self.worker = psutil.Process(web), psutil.Process(worker)
        self.mb = {"web": 0.0, "worker_child": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.mb["web"] = max(self.mb["web"], _peak_mb(self.web))
                for child in self.worker.children(recursive=True):
                    self.mb["worker_child"] = max(self.mb["worker_child"], _peak_mb(child))
            except psutil.NoSuchProcess:
                continue

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {role: round(value, 1) for role, value in self.mb.items()}


def _peak_mb(process: psutil.Process) -> float:
    """The process's peak RSS so far: the kernel's high-water mark (VmHWM) where there is one,
    so a spike between two samples counts too; else its RSS now."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return float(process.memory_info().rss) / MB
    hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(hwm[1]) / 1024 if hwm else float(process.memory_info().rss) / MB


async def _admin(server_url: str, statement: str) -> None:
    url = make_url(server_url).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def wait_for(client: httpx.Client, path: str, done: str, within: float) -> dict[str, object]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            answer = client.get(path)
            if answer.status_code == 200 and (done == "" or answer.json()["status"] in done):
                body: dict[str, object] = answer.json()
                return body
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{path} not {done or 'up'} within {within:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the CSV in MiB")
    args = parser.parse_args()
    server_db = os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    database_url = make_url(server_db).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(server_db, f'CREATE DATABASE "{name}"'))
    release(Settings(database_url=database_url, redis_url=redis_url))
    workdir = Path(tempfile.mkdtemp(prefix="import-memory-"))
    csv_path = workdir / "orders.csv"
    rows = write_csv(csv_path, args.mb * MB)
    size = csv_path.stat().st_size
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": name,
        "UPLOAD_MAX_BYTES": str(size + MB),
        "WORKER_PROCESSES": "1",
        # Measured, not enforced: the default recycling limit would end the child mid-import.
        "WORKER_MAX_MEMORY_MB": "0",
    }
    with socket.socket() as probe:  # a free port: another stack may hold the usual ones
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env["PORT"] = str(port)
    commands = procfile()
    processes = {
        role: subprocess.Popen(
            ["/bin/sh", "-c", f"exec {commands[role]}"],
            cwd=ROOT,
            env=env,
            stdout=(workdir / f"{role}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for role in ("web", "worker")
    }
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            wait_for(client, "/health", "", 60)
            for role, process in processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{role} exited: {(workdir / f'{role}.log').read_text()}")
            time.sleep(3)  # the worker's children finish starting
            peaks = Peaks(processes["web"].pid, processes["worker"].pid)
            started = time.monotonic()
            answer = client.post(
                "/imports", content=pieces(csv_path), headers={"Content-Type": "text/csv"}
            )
            answer.raise_for_status()
            uploaded = time.monotonic() - started
            done = wait_for(client, f"/imports/{answer.json()['id']}", "succeeded failed", 3600)
            took = time.monotonic() - started
            peak = peaks.stop()
    finally:
        for process in processes.values():
            os.killpg(process.pid, 2)
        for process in processes.values():
            process.wait(60)
        asyncio.run(_admin(server_db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    result = {
        "csv_bytes": size,
        "csv_rows": rows,
        "status": done["status"],
        "rows_done": done["rows_done"],
        "rows_rejected": done["rows_rejected"],
        "upload_seconds": round(uploaded, 1),
        "total_seconds": round(took, 1),
        "peak_rss_mb": peak,
        "targets_mb": TARGETS_MB,
        "within_targets": all(peak[role] < limit for role, limit in TARGETS_MB.items()),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "import_memory.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
