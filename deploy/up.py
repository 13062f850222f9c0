"""`python -m deploy.up`, what `make up` runs: servers, release step, then the Procfile.

1. Choose Redis and PostgreSQL (`deploy.embedded.resolve_servers`), starting embedded ones if
   needed, and export `DATABASE_URL` / `REDIS_URL`.
2. Run the release step, `python -m deploy.release`.
3. Run `honcho start` on the Procfile until it ends or a stop is requested, with a worker for
   every queue in `QUEUES` (`deploy.queue_workers` says how the worker entries map to queues).
4. Stop the embedded servers, last.
`--release-only` (`make release`) stops after step 2.

A stop is requested by SIGINT (Ctrl-C), SIGTERM or SIGHUP, or by `make` being interrupted: make
does not pass a SIGINT sent to its own pid on to its child. On a stop the workers are stopped
first, so they can drain in-flight tasks, then honcho stops web and scheduler; each further
request skips ahead to the next, harder step. docs/processes.md has the details and timings.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import psutil
from honcho import environ as honcho_environ
from pydantic import ValidationError
from taskiq_durable import DurableConfig

from core.settings import Settings
from deploy.credentials import operator_credential
from deploy.embedded import ServerError, resolve_servers
from deploy.queue_workers import supervised_procfile
from deploy.server_process import wait_stopped

logger = logging.getLogger("deploy.up")

REPO_ROOT = Path(__file__).resolve().parent.parent
# honcho hands each process PORT=5000+100*i unless PORT is set; the Procfile's web means 8000.
DEFAULT_WEB_PORT = "8000"
WORKER_PROCESS_PREFIX = "worker."
DEFAULT_WORKER_DRAIN_SECONDS = 20.0  # the Procfile's ${WORKER_DRAIN_SECONDS:-20}
WORKER_SHUTDOWN_SECONDS = 5.0  # the Procfile's --shutdown-timeout
HONCHO_KILL_WAIT_SECONDS = 5.0  # honcho.manager.KILL_WAIT: first exit to SIGKILL of the rest
MARGIN_SECONDS = 5.0
RELEASE_STOP_SECONDS = 10.0
POLL_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="up     | %(message)s")
    stop = StopRequests()
    environ = _environment(REPO_ROOT / ".env")
    try:
        # Before any server starts: a queue without a worker stops `make up` at once.
        processes = _with_queue_workers(args.procfile, environ)
    except ValueError as exc:  # PlanError, bad queue names or settings
        logger.error("%s", exc)
        return 1
    try:
        urls, embedded = resolve_servers(environ, args.data_dir)
    except ServerError as exc:
        logger.error("%s", exc)
        return 1
    try:
        env = {
            **environ,
            "DATABASE_URL": urls.database_url,
            "REDIS_URL": urls.redis_url,
            # The Procfile names `uvicorn` and `taskiq`: this venv's, even when not activated.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), environ.get("PATH", "")]),
        }
        env.setdefault("PORT", DEFAULT_WEB_PORT)
        operator_credential(env, args.data_dir)  # control routes on, never open
        if not args.skip_release:
            returncode = _run_release(env, stop)
            if args.release_only or (returncode != 0 and not stop.count):
                return returncode
        if stop.count:
            return 0
        return _run_procfile(processes, env, stop)
    finally:
        if embedded is not None:
            logger.info("stopping embedded servers")
            embedded.stop()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.up", description=__doc__)
    parser.add_argument("--procfile", type=Path, default=REPO_ROOT / "Procfile")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=REPO_ROOT / ".stack",
        help="folder of the embedded servers' data, logs and ports (default: .stack)",
    )
    release = parser.add_mutually_exclusive_group()
    release.add_argument("--skip-release", action="store_true", help="skip the release step")
    release.add_argument(
        "--release-only", action="store_true", help="run the release step, start no processes"
    )
    return parser.parse_args(argv)


def _environment(dotenv: Path) -> dict[str, str]:
    """The process environment over `.env` (as pydantic-settings ranks them), parsed by honcho.

    honcho itself is then told to read no `.env`: it ranks `.env` over the process environment
    and would override the server URLs chosen here.
    """
    from_file: dict[str, str] = honcho_environ.parse(dotenv.read_text()) if dotenv.exists() else {}
    return {**from_file, **os.environ}


class StopRequests:
    """Counts requests to stop; installs the signal handlers and watches the parent process."""

    def __init__(self) -> None:
        self.count = 0
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        threading.Thread(target=self._watch_parent, name="watch-parent", daemon=True).start()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.count += 1
        logger.info("%s received (stop request %d)", signal.Signals(signum).name, self.count)

    def _watch_parent(self) -> None:
        """Turn "our parent was interrupted or died" into a SIGINT to ourselves.

        GNU make forwards SIGTERM to its running recipe, but on SIGINT, SIGHUP or SIGQUIT sent
        to make's pid alone it only resets that signal's handler and waits for the recipe to
        end: the stack would never hear of it. Linux shows the reset in /proc/PID/status.
        """
        parent = os.getppid()
        watched = {signal.SIGINT, signal.SIGHUP, signal.SIGQUIT}
        caught = _caught_signals(parent) & watched if _is_make(parent) else set()
        while os.getppid() == parent and not caught - _caught_signals(parent):
            time.sleep(0.5)
        # A terminal's Ctrl-C reaches make and us alike: that is one request, not two.
        if not self.count:
            os.kill(os.getpid(), signal.SIGINT)


def _is_make(pid: int) -> bool:
    try:
        return psutil.Process(pid).name() in {"make", "gmake"}
    except psutil.Error:
        return False


def _caught_signals(pid: int) -> set[signal.Signals]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return set()
    mask = int(status.split("SigCgt:", 1)[1].split(maxsplit=1)[0], 16)
    return {sig for sig in signal.Signals if mask >> (sig - 1) & 1}


def _wait(process: subprocess.Popen[bytes], timeout: float, stop: StopRequests) -> bool:
    """Wait for `process` to exit: True if it did, False on timeout or a new stop request."""
    requests = stop.count
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if stop.count != requests or time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def _with_queue_workers(procfile: Path, env: dict[str, str]) -> dict[str, str]:
    """The Procfile's entries, its worker entries replaced by one worker per queue in QUEUES."""
    queues = _configured_queues(env)
    entries: dict[str, str] = honcho_environ.parse_procfile(procfile.read_text()).processes
    processes = supervised_procfile(entries, queues)
    logger.info("a worker for each queue: %s", ", ".join(queues))
    return processes


def _configured_queues(env: dict[str, str]) -> tuple[str, ...]:
    """QUEUES as the stack's settings read it, checked as the library checks queue names."""
    default = Settings.model_fields["queues"].default
    try:
        queues: tuple[str, ...] = Settings(_env_file=None, queues=env.get("QUEUES", default)).queues
    except ValidationError as exc:
        raise ValueError(f"invalid settings: {exc}") from None
    DurableConfig(queues=queues, worker_queue=next(iter(queues), ""))
    return queues


def _run_release(env: dict[str, str], stop: StopRequests) -> int:
    release = subprocess.Popen([sys.executable, "-m", "deploy.release"], cwd=REPO_ROOT, env=env)
    if not _wait(release, float("inf"), stop):
        release.send_signal(signal.SIGINT)
        if not _wait(release, RELEASE_STOP_SECONDS, stop):
            release.kill()
    returncode = release.wait()
    if returncode != 0:
        logger.error("release step ended with exit code %d", returncode)
    return returncode


def _run_procfile(processes: dict[str, str], env: dict[str, str], stop: StopRequests) -> int:
    with tempfile.TemporaryDirectory(prefix="stack-procfile-") as folder:
        procfile = Path(folder) / "Procfile"
        procfile.write_text("".join(f"{name}: {command}\n" for name, command in processes.items()))
        honcho = subprocess.Popen(
            # `-e /dev/null`: see _environment. honcho reads the Procfile once, at its start,
            # and runs the commands in its cwd, not the Procfile's folder.
            [sys.executable, "-m", "honcho", "start", "-f", str(procfile), "-e", "/dev/null"],
            cwd=REPO_ROOT,
            env=env,
            # Its own process group: a terminal's Ctrl-C reaches us only, and we stop the stack
            # in order; honcho would SIGTERM every process at once and SIGKILL them 5 s later.
            process_group=0,
        )
        return _supervise(honcho, env, stop)


def _supervise(honcho: subprocess.Popen[bytes], env: dict[str, str], stop: StopRequests) -> int:
    tracker = ProcessTracker(honcho.pid)
    while not stop.count and _wait_briefly(honcho) is None:
        tracker.refresh()
    if honcho.returncode is None:
        _stop_procfile(honcho, tracker, env, stop)
    survivors = tracker.kill_survivors()
    if survivors:
        logger.warning("killed processes left behind: %s", survivors)
    return 0 if stop.count else honcho.wait()


def _wait_briefly(process: subprocess.Popen[bytes]) -> int | None:
    try:
        return process.wait(POLL_SECONDS)
    except subprocess.TimeoutExpired:
        return None


def _stop_procfile(
    honcho: subprocess.Popen[bytes],
    tracker: ProcessTracker,
    env: dict[str, str],
    stop: StopRequests,
) -> None:
    tracker.refresh()
    workers = tracker.process_groups(WORKER_PROCESS_PREFIX)
    if workers:
        # The one worker entry runs every queue's worker and exits once all of them have
        # (deploy.queue_workers); then honcho SIGTERMs web and scheduler and exits itself.
        drain = _worker_drain_seconds(env) + WORKER_SHUTDOWN_SECONDS
        logger.info(
            "stopping the workers first: they drain in-flight tasks for up to %.0f s", drain
        )
        for pgid in workers:
            _signal_group(pgid, signal.SIGTERM)
        if _wait(honcho, drain + HONCHO_KILL_WAIT_SECONDS + MARGIN_SECONDS, stop):
            return
    logger.info("stopping all processes (honcho SIGKILLs what is left after 5 s)")
    honcho.send_signal(signal.SIGTERM)
    if not _wait(honcho, HONCHO_KILL_WAIT_SECONDS + MARGIN_SECONDS, stop):
        honcho.kill()
        honcho.wait()


def _worker_drain_seconds(env: dict[str, str]) -> float:
    try:
        return float(env.get("WORKER_DRAIN_SECONDS") or DEFAULT_WORKER_DRAIN_SECONDS)
    except ValueError:
        return DEFAULT_WORKER_DRAIN_SECONDS


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return


class ProcessTracker:
    """Every process seen below honcho, so that none outlives `make up`.

    honcho only signals the process groups of Procfile entries it still counts as running: a
    process whose group leader has already exited would be left behind.
    """

    def __init__(self, root_pid: int) -> None:
        self._root = psutil.Process(root_pid)
        self._seen: set[psutil.Process] = set()

    def refresh(self) -> None:
        try:
            self._seen.update(self._root.children(recursive=True))
        except psutil.NoSuchProcess:
            return

    def process_groups(self, name_prefix: str) -> list[int]:
        """Process groups of the Procfile entries whose honcho name starts with `name_prefix`.

        honcho starts each entry in a new session (its leader's pid is the group id) with
        HONCHO_PROCESS_NAME, e.g. `worker.1`, in its environment.
        """
        groups = []
        for process in self._seen:
            try:
                if os.getsid(process.pid) != process.pid:
                    continue
                name = process.environ().get("HONCHO_PROCESS_NAME", "")
            except (psutil.Error, ProcessLookupError):
                continue
            if name.startswith(name_prefix):
                groups.append(process.pid)
        return groups

    def kill_survivors(self) -> list[psutil.Process]:
        survivors = [process for process in self._seen if _is_alive(process)]
        for process in survivors:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                continue
        for process in survivors:
            wait_stopped(process, HONCHO_KILL_WAIT_SECONDS)
        return survivors


def _is_alive(process: psutil.Process) -> bool:
    # A zombie is dead; it only waits for its parent (or init) to collect its exit status.
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


if __name__ == "__main__":
    sys.exit(main())
