"""Every Lua script of the library names every key it touches in KEYS.

Redis Cluster routes a script by its declared keys, and Redis documents that a script must not
build key names itself: one that XADDs to a stream named in its payload works on one server and
fails (or writes to the wrong node) on a cluster. This reads each script the library registers,
finds every `redis.call`, and checks that each key argument of the command is `KEYS[n]`.
"""

import importlib
import pkgutil
import re

import pytest
import taskiq_durable

# Command -> positions (0-based, after the command name) of its key arguments; None: every one.
KEY_POSITIONS: dict[str, tuple[int, ...] | None] = {
    "TIME": (),
    "GET": (0,),
    "SET": (0,),
    "DEL": None,
    "EXISTS": None,
    "PEXPIRE": (0,),
    "ZADD": (0,),
    "ZREM": (0,),
    "ZSCORE": (0,),
    "ZCOUNT": (0,),
    "ZRANGE": (0,),
    "ZRANGEBYSCORE": (0,),
    "ZREMRANGEBYSCORE": (0,),
    "XADD": (0,),
    "XPENDING": (0,),
}
# Commands whose first argument is a subcommand: positions count after it.
SUBCOMMAND_KEY_POSITIONS: dict[str, tuple[int, ...]] = {"XGROUP": (0,)}

DECLARED = re.compile(r"^KEYS\[\d+\]$")


def _call_arguments(script: str) -> list[list[str]]:
    """The argument lists (as source text) of every `redis.call(...)` in `script`."""
    calls = []
    for match in re.finditer(r"redis\.(?:p?call)\s*\(", script):
        args, depth, current, quote = [], 0, "", ""
        for char in script[match.end() :]:
            if quote:
                current += char
                quote = "" if char == quote else quote
            elif char in "'\"":
                current, quote = current + char, char
            elif char == "(":
                depth, current = depth + 1, current + char
            elif char == ")" and depth:
                depth, current = depth - 1, current + char
            elif char == ")":
                args.append(current.strip())
                break
            elif char == "," and not depth:
                args, current = [*args, current.strip()], ""
            else:
                current += char
        calls.append(args)
    return calls


def undeclared_keys(script: str) -> list[str]:
    """Problems in `script`: key arguments not taken from KEYS, commands not in the table."""
    problems = []
    for args in _call_arguments(script):
        command = args[0].strip("'\"").upper()
        rest = args[1:]
        if command in SUBCOMMAND_KEY_POSITIONS:
            positions: tuple[int, ...] | None = SUBCOMMAND_KEY_POSITIONS[command]
            rest = rest[1:]
        elif command in KEY_POSITIONS:
            positions = KEY_POSITIONS[command]
        else:
            problems.append(f"{command}: add its key positions to KEY_POSITIONS")
            continue
        keys = rest if positions is None else [rest[i] for i in positions if i < len(rest)]
        problems += [f"{command} key {key}" for key in keys if not DECLARED.match(key)]
    return problems


def library_scripts() -> dict[str, str]:
    """Every module-level Lua script of taskiq_durable, by `module.NAME`."""
    scripts = {}
    for module_info in pkgutil.walk_packages(taskiq_durable.__path__, "taskiq_durable."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if isinstance(value, str) and "redis.call" in value and value.count("\n") > 0:
                scripts[f"{module_info.name}.{name}"] = value
    return scripts


def test_the_library_registers_scripts() -> None:
    # Each module that calls redis.register_script or eval with its own script is found.
    found = {name.rsplit(".", 1)[0] for name in library_scripts()}
    assert {
        "taskiq_durable.delayed",
        "taskiq_durable.rate_limit",
        "taskiq_durable.dedup",
        "taskiq_durable.readers",
        "taskiq_durable.streams.consumers",
        "taskiq_durable.scheduler.state",
        "taskiq_durable.scheduler.sources",
    } <= found


@pytest.mark.parametrize("name", sorted(library_scripts()))
def test_every_key_a_script_touches_is_declared(name: str) -> None:
    assert undeclared_keys(library_scripts()[name]) == []


def test_the_check_finds_a_key_built_from_the_payload() -> None:
    bad = """
local envelope = cjson.decode(ARGV[1])
redis.call('XADD', envelope.stream, '*', 'data', envelope.data)
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('XGROUP', 'DELCONSUMER', ARGV[2], 'g', 'c')
redis.call('DEL', KEYS[1], 'stack:' .. ARGV[1])
redis.call('OBJECT', 'ENCODING', KEYS[1])
"""
    assert undeclared_keys(bad) == [
        "XADD key envelope.stream",
        "XGROUP key ARGV[2]",
        "DEL key 'stack:' .. ARGV[1]",
        "OBJECT: add its key positions to KEY_POSITIONS",
    ]
