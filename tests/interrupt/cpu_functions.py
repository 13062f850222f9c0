"""CPU-bound functions for the CPU-pool tests. A pool process imports this module on first use,
so it imports nothing heavy (not the broker)."""


def spin() -> None:
    """CPU-bound and endless: only killing its process stops it."""
    while True:
        pass


def square(n: int) -> int:
    return n * n


def fail(message: str) -> None:
    raise ValueError(message)


def not_json() -> object:
    return {1, 2}
