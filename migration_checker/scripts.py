"""Process launchers (Procfile, Compose, shell, Dockerfile): celery worker/beat/inspect and
flower commands, plus the process counts and `max_connections` the connection budget needs."""

import re
from dataclasses import dataclass, field

from migration_checker.findings import Finding

__all__ = ["ScriptFacts", "scan_command_text", "scan_script"]

_CELERY = re.compile(r"\bcelery\b(?P<rest>[^;&|]*)")
# `flower` as a command or image, not as a Compose service key (`flower:`).
_FLOWER = re.compile(r"\bflower\b(?!:)")
_GUNICORN = re.compile(r"\b(gunicorn|uvicorn)\b(?P<rest>[^;&|]*)")
_WORKERS = re.compile(r"(?:-w|--workers)[= ]+(\d+)")
_CONCURRENCY = re.compile(r"(?:-c|--concurrency)[= ]+(\d+)")
_MAX_CONNECTIONS = re.compile(r"max_connections\s*[=:]\s*(\d+)", re.IGNORECASE)
_QUOTES = re.compile(r"[\[\]\"',]")
_DIAGNOSIS = frozenset({"inspect", "control", "status", "events", "purge", "result"})
# Assumed when a worker command does not say: Celery's default is the CPU count.
ASSUMED_CONCURRENCY = 4


@dataclass(slots=True)
class ScriptFacts:
    """Processes each holding a DB pool, and what the scripts say about limits."""

    processes: int = 0
    process_notes: list[str] = field(default_factory=list)
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
    found = [("worker-command", "celery worker → taskiq worker module:broker")]
    if _CONCURRENCY.search(rest):
        found.append(("concurrency", "worker --concurrency → --workers/--max-async-tasks"))
    if re.search(r"--max-(tasks|memory)-per-child", rest):
        found.append(("worker-recycling", "worker --max-*-per-child → --max-tasks-per-child"))
    if re.search(r"(^|\s)(-Q|--queues)\b", rest):
        found.append(("routing", "worker -Q → one taskiq worker per stream"))
    if re.search(r"--(soft-)?time-limit", rest):
        found.append(("time-limit", "worker --time-limit → timeout labels"))
    if "--prefetch-multiplier" in rest:
        found.append(("acks-late", "worker --prefetch-multiplier → --max-prefetch"))
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
            found.append(("beat-command", column, "celery beat → one taskiq scheduler"))
        elif sub in _DIAGNOSIS or sub == "flower":
            found.append(("diagnosis-tool", column, f"celery {sub} → stream/XPENDING checks"))
    if not any(rule == "diagnosis-tool" for rule, _, _ in found):
        flower = _FLOWER.search(text)
        if flower:
            found.append(("diagnosis-tool", flower.start() + 1, "flower → stream metrics"))
    return found


def scan_script(rel_path: str, text: str, facts: ScriptFacts) -> list[Finding]:
    findings: list[Finding] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#") or not line:
            continue
        for rule_id, column, message in scan_command_text(raw):
            findings.append(Finding(rule_id, rel_path, number, column, message, number))
        _count_processes(raw, rel_path, number, facts, findings)
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
        facts.processes += count
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
        count = int(concurrency.group(1)) if concurrency else ASSUMED_CONCURRENCY
        facts.processes += count
        facts.process_notes.append(f"{count} worker ({where})")
        facts.time_limit_flag |= bool(re.search(r"--(soft-)?time-limit", rest))
