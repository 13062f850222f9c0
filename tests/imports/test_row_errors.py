"""Row-level errors stay row-level, and a failed import can always be finished.

Each upload has 120 good rows, one bad row (line 122) and 30 more good rows; the worker writes
batches of 50, so the bad row comes after two committed batches. Before issue 16, every case
here ended the import `failed` with 100 rows stored and no way to finish it.
"""

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core.settings import Settings
from tests.imports.conftest import OPERATOR, ImportStack
from tests.support.http import orders_csv, wait_import_finished
from tests.support.processes import wait_until

HEADER = b"order_id,customer,amount,currency,created_at\n"
BEFORE, AFTER = 120, 30
BAD_LINE = BEFORE + 2

# (case, bad row, the rejection's reason)
BAD_ROWS = [
    ("nul", b"X,Ann\x00Smith,1,EUR,2026-01-01\n", "customer contains a NUL character"),
    (
        "bare-cr",
        b"X,Ann\rSmith,1,EUR,2026-01-01\n",
        "a bare CR in an unquoted field (quote the field, or end lines with LF or CRLF)",
    ),
    (
        "huge-field",
        b"X," + b"a" * 140_000 + b",1,EUR,2026-01-01\n",
        "a field is over 131072 characters",
    ),
    (
        "offset-below-range",
        b"X,Ann,1,EUR,0001-01-01T00:00:00+01:00\n",
        "created_at '0001-01-01T00:00:00+01:00' is out of range",
    ),
    (
        "offset-above-range",
        b"X,Ann,1,EUR,9999-12-31T23:59:59-01:00\n",
        "created_at '9999-12-31T23:59:59-01:00' is out of range",
    ),
    (
        "huge-number",
        b"X,Ann,1e309,EUR,2026-01-01\n",
        "amount '1e309' must be finite, below 1e12, at most 2 decimals",
    ),
    # The parser lets it through; a constraint the business added later refuses it.
    (
        "database-refusal",
        b"X,refused,1,EUR,2026-01-01\n",
        'the database refused the row: new row for relation "orders" violates check'
        ' constraint "orders_customer_refused"',
    ),
    (
        "forty-digits",
        b"X,Ann," + b"1" + b"0" * 40 + b",EUR,2026-01-01\n",
        f"amount '1{'0' * 39}'… (41 characters) must be finite, below 1e12, at most 2 decimals",
    ),
]


def upload_with(prefix: str, bad: bytes) -> bytes:
    before = orders_csv(BEFORE, prefix=f"{prefix}-")
    after = orders_csv(AFTER, prefix=f"{prefix}-", start=BEFORE).removeprefix(HEADER)
    return before + bad.replace(b"X,", f"{prefix}-bad,".encode(), 1) + after


def test_each_bad_row_is_a_rejection_and_the_rest_is_imported(
    import_stack: ImportStack, settings: Settings
) -> None:
    client = import_stack.client
    asyncio.run(
        _admin(
            settings,
            "ALTER TABLE orders ADD CONSTRAINT orders_customer_refused"
            " CHECK (customer <> 'refused')",
        )
    )
    queued = {
        case: client.post("/imports", content=upload_with(case, bad)) for case, bad, _ in BAD_ROWS
    }
    assert {case: answer.status_code for case, answer in queued.items()} == dict.fromkeys(
        queued, 202
    )
    outcomes = {
        case: wait_import_finished(client, answer.json()["id"], within=120)
        for case, answer in queued.items()
    }
    assert {
        case: (
            done["status"],
            done["rows_total"],
            done["rows_done"],
            done["rows_rejected"],
            done["rejections"],
        )
        for case, done in outcomes.items()
    } == {
        case: (
            "succeeded",
            BEFORE + AFTER + 1,
            BEFORE + AFTER,
            1,
            [{"line": BAD_LINE, "reason": reason}],
        )
        for case, _, reason in BAD_ROWS
    }


async def _admin(settings: Settings, *statements: str) -> None:
    url = make_url(settings.database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _orders_of(settings: Settings, import_id: str) -> list[str]:
    url = make_url(settings.database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        rows = await conn.fetch(
            "SELECT order_id FROM orders WHERE import_id = $1 ORDER BY order_id",
            uuid.UUID(import_id),
        )
    finally:
        await conn.close()
    return [row["order_id"] for row in rows]


# The database fails (not refuses a row: an error no row can be blamed for) on the third batch.
FAIL_THIRD_BATCH = """
CREATE FUNCTION fail_third_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM orders) > 100 THEN
    RAISE EXCEPTION 'injected failure';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER fail_third_batch AFTER INSERT ON orders
  FOR EACH STATEMENT EXECUTE FUNCTION fail_third_batch();
"""
REPAIR = "DROP TRIGGER fail_third_batch ON orders"


@pytest.mark.parametrize("finish", ["dead-letter-replay", "resume-route"])
def test_a_failed_import_is_finished_exactly_by_a_replay_or_a_resume(
    import_stack: ImportStack, settings: Settings, finish: str
) -> None:
    client = import_stack.client
    asyncio.run(_admin(settings, FAIL_THIRD_BATCH))
    upload = orders_csv(180, prefix="r-") + b"r-bad,Ann,x,EUR,2026-01-01\n"
    import_id = client.post("/imports", content=upload).json()["id"]
    failed = wait_import_finished(client, import_id, within=60)
    assert (failed["status"], failed["rows_done"]) == ("failed", 100)
    assert "injected failure" in str(failed["error"])
    assert len(asyncio.run(_orders_of(settings, import_id))) == 100

    asyncio.run(_admin(settings, REPAIR))
    if finish == "dead-letter-replay":
        letters = client.get("/admin/dead-letters", headers=OPERATOR).json()
        assert [letter["args"] for letter in letters] == [[import_id]]
        replayed = client.post(f"/admin/dead-letters/{letters[0]['id']}/replay", headers=OPERATOR)
        assert replayed.status_code == 202
    else:
        resumed = client.post(f"/imports/{import_id}/resume")
        assert resumed.status_code == 202, resumed.text
        assert client.post(f"/imports/{import_id}/resume").status_code == 409

    def finished() -> bool:
        return bool(client.get(f"/imports/{import_id}").json()["status"] == "succeeded")

    wait_until(finished, within=60, what="the resumed import")
    done = client.get(f"/imports/{import_id}").json()
    assert (done["rows_total"], done["rows_done"], done["rows_rejected"], done["error"]) == (
        181,
        180,
        1,
        None,
    )
    assert done["rejections"] == [{"line": 182, "reason": "amount 'x' is not a number"}]
    assert asyncio.run(_orders_of(settings, import_id)) == sorted(f"r-{i}" for i in range(180))

    # The import owns its rows: the same file again is another import, whose rows are taken.
    again = client.post("/imports", content=upload).json()["id"]
    repeat = wait_import_finished(client, again, within=60)
    assert (repeat["status"], repeat["rows_done"], repeat["rows_rejected"]) == (
        "succeeded",
        0,
        181,
    )
    assert repeat["rejections"][0] == {  # type: ignore[index]
        "line": 2,
        "reason": f"order_id 'r-0' already imported by import {import_id}",
    }
