"""What a store is given from outside:
its tuning (when to checkpoint, the fsync it uses) and the requests it gives way to."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


def os_fsync(fd: int) -> None:
    """The operating system's fsync (looked up at each call)."""
    os.fsync(fd)


@dataclass(frozen=True)
class StoreTuning:
    """How often a store checkpoints and retries a failed disk, and the fsync it makes its files durable with."""

    checkpoint_every: int = 2000  # commits, and at least `checkpoint_share` of live.json's size in journal lines
    checkpoint_share: float = 1.0
    checkpoint_bytes: int = 8 * 1024 * 1024  # or this much journal (or live.json's size, if larger) whatever the count
    dump_chunk: int = 500  # records encoded at a time when live.json is written
    recover_every: float = 5.0  # seconds between tries of a disk that failed an fsync
    fsync: Callable[[int], None] = field(default=os_fsync)


class Gaps(Protocol):
    """Requests being answered (the core's request priority): a checkpoint gives way to them."""

    in_flight: int
    patience: float  # seconds work that can wait gives way, at most, at each step

    async def give_way(self) -> None: ...
