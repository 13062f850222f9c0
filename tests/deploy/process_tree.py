"""Which processes of a tree are still alive: what "no process left behind" is checked with."""

import psutil


def tree(*pids: int) -> list[psutil.Process]:
    """The processes `pids` and all their descendants, as of now."""
    roots = [psutil.Process(pid) for pid in pids]
    return roots + [child for root in roots for child in root.children(recursive=True)]


def survivors(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running; a zombie only waits for its exit status to be collected."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    return alive
