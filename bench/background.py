"""A thread that runs for the length of a `with` block: the base of the samplers."""

import threading
from types import TracebackType
from typing import Self

__all__ = ["Background"]


class Background:
    """Runs `run(stop)` in a daemon thread; `stop` is set on exit, and a failure re-raised there."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None

    def run(self, stop: threading.Event) -> None:
        raise NotImplementedError

    def _guarded(self) -> None:
        try:
            self.run(self._stop)
        except Exception as exc:  # noqa: BLE001  (re-raised by __exit__ in the caller's thread)
            self._error = exc

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._guarded, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise RuntimeError(f"{type(self).__name__} failed") from self._error
