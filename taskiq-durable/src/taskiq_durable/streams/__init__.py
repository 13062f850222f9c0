"""Reliable delivery on Redis streams: our broker and its single-purpose parts."""

from taskiq_durable.streams.broker import StreamBroker
from taskiq_durable.streams.config import DeliveryConfig

__all__ = ["DeliveryConfig", "StreamBroker"]
