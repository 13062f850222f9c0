"""Process launchers (Procfile, Compose, shell, Dockerfile): celery worker/beat/inspect and
flower commands, plus the process counts and `max_connections` the connection budget needs."""

import re
from dataclasses import dataclass, field

from migration_checker.findings import Finding

__all__ = ["ScriptFacts", "app_hints", "scan_command_text", "scan_script"]

_CELERY = re.compile(r"\bcelery\b(?P<rest>[^;&|]*)")
# `flower` as a command or image, not as a Compose service key (`flower:`).
_FLOWER = re.compile(r"\bflower\b(?!:)")
_GUNICORN = re.compile(r"\b(gunicorn|uvicorn)\b(?P<rest>[^;&|]*)")
_WORKERS = re.compile(r"(?:-w|--workers)[= ]+(\d+)")
_CONCURRENCY = re.compile(r"(?:-c|--concurrency)[= ]+(\d+)")
_MAX_CONNECTIONS = re.compile(r"max_connections\s*[=:]\s*(\d+)", re.IGNORECASE)
_QUOTES = re.compile(r"[\[\]\"',]")
_DIAGNOSIS = frozenset({"inspect", "control", "status", "events", "purge", "result"})
_APP = re.compile(r"(?:-A|--app)[= ]+([A-Za-z_][\w.]*)")
_POOL = re.compile(r"(?:-P|--pool)[= ]+(\w+)")
# Pools that run tasks in threads or greenlets of one process: one DB pool, however many.
_ONE_PROCESS_POOLS = frozenset({"threads", "gevent", "eventlet", "solo"})
# Assumed when a worker command does not say: Celery's default is the CPU count.
ASSUMED_CONCURRENCY = 4
# Shell branches: `case` arms and `if`/`elif`/`else` parts run one at a time.
_BRANCH_OPEN = re.compile(r"^(case\b.*\bin|if\b.*)$")
_BRANCH_NEXT = re.compile(r"^(elif\b.*|else|[^()\s]+(\s*\|\s*[^()\s]+)*\))")
_BRANCH_CLOSE = re.compile(r"^(esac|fi)\b")


def app_hints(text: str) -> set[str]:
    """First segments of `celery -A pkg.module` apps: folders Celery imports as packages."""
    return {match.split(".")[0] for match in _APP.findall(text)}


@dataclass(slots=True)
class ScriptFacts:
    """Processes each holding a DB pool, and what the scripts say about limits."""

    processes: int = 0
    process_notes: list[str] = field(default_factory=list)
    # Open shell branch constructs: per construct, the processes of each arm so far.
    branches: list[list[int]] = field(default_factory=list)
    max_connections: int | None = None
    time_limit_flag: bool = False
    # The same command often appears in a Procfile and a Compose file: count it once.
    seen_commands: set[str] = field(default_factory=set)


def _subcommand(rest: str) -> str:
    words = rest.split()
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in {"-A", "--app", "-b", "--broker", "--workdir", "--config"}:
            skip_next = True
        elif not word.startswith("-"):
            return word
    return ""


def _worker_findings(rest: str) -> list[tuple[str, str]]:
    found = [("worker-command", "celery worker")]
    concurrency = _CONCURRENCY.search(rest)
    pool = _POOL.search(rest)
    if concurrency or pool:
        flags = " ".join(m.group(0) for m in (pool, concurrency) if m)
        found.append(("concurrency", f"worker {flags}"))
    memory = re.search(r"--max-memory-per-child[= ]+(\d+)", rest)
    if memory:
        kib = int(memory.group(1))
        note = (
            f"worker --max-memory-per-child={kib} KiB (WORKER_MAX_MEMORY_MB={max(1, kib // 1024)})"
        )
        found.append(("worker-recycling", note))
    if "--max-tasks-per-child" in rest:
        found.append(("worker-recycling", "worker --max-tasks-per-child"))
    if re.search(r"(^|\s)(-Q|--queues)\b", rest):
        found.append(("routing", "worker -Q"))
    if re.search(r"--(soft-)?time-limit", rest):
        found.append(("time-limit", "worker --time-limit"))
    if "--prefetch-multiplier" in rest:
        found.append(("acks-late", "worker --prefetch-multiplier"))
    if re.search(r"(^|\s)(-B|--beat)\b", rest):
        found.append(("in-process-runner", "worker -B embeds beat: every replica schedules"))
    return found


def scan_command_text(text: str) -> list[tuple[str, int, str]]:
    """(rule id, column, message) for every Celery/Flower command in one line of text."""
    text = _QUOTES.sub(" ", text)
    found: list[tuple[str, int, str]] = []
    for match in _CELERY.finditer(text):
        rest, column = match.group("rest"), match.start() + 1
        sub = _subcommand(rest)
        if sub == "worker":
            found += [(rule, column, msg) for rule, msg in _worker_findings(rest)]
        elif sub == "beat":
            found.append(("beat-command", column, "celery beat"))
        elif sub in _DIAGNOSIS or sub == "flower":
            found.append(("diagnosis-tool", column, f"celery {sub}"))
    if not any(rule == "diagnosis-tool" for rule, _, _ in found):
        flower = _FLOWER.search(text)
        if flower:
            found.append(("diagnosis-tool", flower.start() + 1, "flower"))
    return found


def _branch(line: str, facts: ScriptFacts) -> None:
    """Track shell branches so that exclusive arms count as the largest, not their sum."""
    if _BRANCH_CLOSE.match(line) and facts.branches:
        arms = facts.branches.pop()
        facts.processes += max(arms)
    elif _BRANCH_OPEN.match(line):
        facts.branches.append([0])
        if line.startswith("if"):
            facts.branches[-1].append(0)
    elif _BRANCH_NEXT.match(line) and facts.branches:
        facts.branches[-1].append(0)


def _add_processes(count: int, facts: ScriptFacts) -> None:
    if facts.branches:
        facts.branches[-1][-1] += count
    else:
        facts.processes += count


def scan_script(rel_path: str, text: str, facts: ScriptFacts) -> list[Finding]:
    findings: list[Finding] = []
    shell = rel_path.endswith((".sh", ".bash")) or text.startswith("#!")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#") or not line:
            continue
        if shell:
            _branch(line, facts)
        for rule_id, column, message in scan_command_text(raw):
            findings.append(Finding(rule_id, rel_path, number, column, message, number))
        _count_processes(raw, rel_path, number, facts, findings)
    # An unclosed branch at the end of a script still counts its largest arm.
    while facts.branches:
        facts.processes += max(facts.branches.pop())
    return findings


def _count_processes(
    raw: str, rel_path: str, number: int, facts: ScriptFacts, findings: list[Finding]
) -> None:
    where = f"{rel_path}:{number}"
    limit = _MAX_CONNECTIONS.search(raw)
    if limit:
        facts.max_connections = int(limit.group(1))
    command = " ".join(_QUOTES.sub(" ", raw).split())
    if command in facts.seen_commands:
        return
    facts.seen_commands.add(command)
    web = _GUNICORN.search(raw)
    if web:
        workers = _WORKERS.search(web.group("rest"))
        count = int(workers.group(1)) if workers else 1
        _add_processes(count, facts)
        facts.process_notes.append(f"{count} web ({where})")
        if "--preload" in web.group("rest"):
            message = "gunicorn --preload imports the app before forking its workers"
            findings.append(
                Finding("preload-fork", rel_path, number, web.start() + 1, message, number)
            )
    celery = _CELERY.search(_QUOTES.sub(" ", raw))
    if celery and _subcommand(celery.group("rest")) == "worker":
        rest = celery.group("rest")
        concurrency = _CONCURRENCY.search(rest)
        pool = _POOL.search(rest)
        if pool and pool.group(1) in _ONE_PROCESS_POOLS:
            count, kind = 1, f"worker, -P {pool.group(1)}: one process"
        else:
            count = int(concurrency.group(1)) if concurrency else ASSUMED_CONCURRENCY
            kind = "worker"
        _add_processes(count, facts)
        facts.process_notes.append(f"{count} {kind} ({where})")
        facts.time_limit_flag |= bool(re.search(r"--(soft-)?time-limit", rest))
