from pathlib import Path

import pytest

from bench.config import REDIS_DBS, BenchConfig, env_int, redis_dbs
from bench.pg import database_url
from bench.run import parse_args


@pytest.mark.parametrize(
    ("redis_url", "db", "expected"),
    [
        ("redis://127.0.0.1:6379", 14, "redis://127.0.0.1:6379/14"),
        ("redis://127.0.0.1:6379/", 14, "redis://127.0.0.1:6379/14"),
        ("redis://127.0.0.1:6379/0", 13, "redis://127.0.0.1:6379/13"),
        ("redis://:secret@cache:6380/2", 15, "redis://:secret@cache:6380/15"),
    ],
)
def test_redis_db_url(redis_url: str, db: int, expected: str) -> None:
    cfg = BenchConfig.from_env(False, ("W1",), Path("out"), {"REDIS_URL": redis_url})
    assert cfg.redis_db_url(db) == expected


@pytest.mark.parametrize(
    ("server_url", "expected"),
    [
        (
            "postgresql+asyncpg://postgres@127.0.0.1:5432",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/bench",
        ),
        ("postgresql+asyncpg://u:pw@db/stack", "postgresql+asyncpg://u:pw@db/bench"),
    ],
)
def test_database_url(server_url: str, expected: str) -> None:
    assert database_url(server_url, "bench") == expected


def test_defaults() -> None:
    cfg = BenchConfig.from_env(False, ("W1",), Path("out"), {})
    assert (cfg.worker_processes, cfg.concurrency) == (2, 200)
    assert cfg.redis_dbs == REDIS_DBS
    assert cfg.redis_url_of("saq") == "redis://127.0.0.1:6379/11"


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, 7), ({"N": ""}, 7), ({"N": " 3 "}, 3), ({"N": "0"}, 0)],
)
def test_env_int(env: dict[str, str], expected: int) -> None:
    assert env_int(env, "N", 7) == expected


@pytest.mark.parametrize(
    ("value", "message"), [("two", "not an integer"), ("0", "below 1"), ("-3", "below 1")]
)
def test_env_int_refuses(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        env_int({"N": value}, "N", 7, minimum=1)


def test_redis_dbs_from_env() -> None:
    dbs = redis_dbs({"BENCH_BARE_TASKIQ_REDIS_DB": "3", "BENCH_SAQ_REDIS_DB": "4"})
    assert (dbs["bare-taskiq"], dbs["saq"], dbs["taskiq"]) == (3, 4, 13)


def test_redis_dbs_refuse_a_shared_database() -> None:
    with pytest.raises(ValueError, match=r"shared by \['celery', 'streaq'\]"):
        redis_dbs({"BENCH_STREAQ_REDIS_DB": "14"})


def test_parse_args_turns_a_bad_knob_into_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--quick"], {"BENCH_CONCURRENCY": "many"})
    assert exit_info.value.code == 2
    assert "BENCH_CONCURRENCY='many' is not an integer" in capsys.readouterr().err


def test_parse_args_refuses_an_unknown_workload(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--only", "W1,W9"], {})
    assert "unknown workloads ['W9']" in capsys.readouterr().err
