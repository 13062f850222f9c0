"""Stream ids and the byte strings redis-py hands back."""


def as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_id(stream_id: str) -> tuple[int, int]:
    """`"<millis>-<seq>"` as numbers, which is how Redis orders ids."""
    millis, _, seq = stream_id.partition("-")
    return int(millis), int(seq or 0)


def next_id(stream_id: str) -> str:
    millis, seq = parse_id(stream_id)
    return f"{millis}-{seq + 1}"
