"""A disk for tests: the fsync a store is given (`StoreTuning(fsync=disk.fsync)`), held or failing on demand."""

from __future__ import annotations

import os
import threading
import time


class Disk:
    """The real fsync, counted; held until `free` is set, slower by `lag` seconds, or failing with `error`."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.free = threading.Event()
        self.free.set()
        self.lag = 0.0
        self.error: OSError | None = None

    def fsync(self, fd: int) -> None:
        self.calls.append(fd)
        self.free.wait(10)
        time.sleep(self.lag)
        if self.error is not None:
            raise self.error
        os.fsync(fd)
