"""The messages one worker child holds: fetched into its pending list and not yet acknowledged.

A message enters when XREADGROUP or XAUTOCLAIM hands it to this consumer and leaves when it
is acknowledged or handed back. The heartbeat keeps exactly these claimed; a shutdown hands
back whatever is still here.
"""

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delivery:
    stream: str
    message_id: str
    data: bytes
    # Redis's count: 1 when read, one more per XAUTOCLAIM (taskiq_durable/streams/poison.py).
    times_delivered: int = 1


class InFlight:
    def __init__(self) -> None:
        self._held: dict[tuple[str, str], Delivery] = {}

    def __len__(self) -> int:
        return len(self._held)

    def add(self, delivery: Delivery) -> None:
        self._held[delivery.stream, delivery.message_id] = delivery

    def discard(self, delivery: Delivery) -> None:
        self._held.pop((delivery.stream, delivery.message_id), None)

    def deliveries(self) -> list[Delivery]:
        return list(self._held.values())

    def ids_by_stream(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = defaultdict(list)
        for stream, message_id in self._held:
            grouped[stream].append(message_id)
        return dict(grouped)
