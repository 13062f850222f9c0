"""Reliable delivery on Redis streams: our broker and its single-purpose parts."""

from tasks.streams.broker import StreamBroker
from tasks.streams.config import DeliveryConfig

__all__ = ["DeliveryConfig", "StreamBroker"]
