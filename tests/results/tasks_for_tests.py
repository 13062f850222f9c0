"""Tasks that exist only for the result-waiter tests, registered on the production broker."""

from tasks.broker import broker


@broker.task(task_name="tests.results.echo")
async def echo(value: int) -> int:
    return value
