"""The terminal chat (`policybot chat`): act as anyone in the school and try every workflow.

Cards addressed to other people wait for them; switch with `/as NAME` to see them.
Buttons and choices are numbered: type the number to click or choose. It reads from a
pipe as well as a terminal and ends cleanly at the end of input, so sessions can be
scripted: printf '/as eclarke\\n/new-account\\n...' | policybot chat
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from adapters.console_channel import ConsoleChannel, safe
from bot.core import Core
from bot.errors import PolicybotError, reference
from bot.messages import Button, Inbound
from bot.timefmt import when

log = logging.getLogger("policybot.console")
# /advance moves the simulated clock in steps of this, running the scheduler at each.
ADVANCE_STEP = timedelta(minutes=15)
MAX_ADVANCE = timedelta(days=31)


def load_clock(path: Path) -> timedelta:
    """How far earlier chats moved the simulated clock on (0 if never, or if the file is unreadable)."""
    try:
        return timedelta(seconds=float(json.loads(path.read_text(encoding="utf-8"))["advanced_seconds"]))
    except (OSError, ValueError, KeyError, TypeError):
        return timedelta(0)


def _duration(delta: timedelta) -> str:
    """'3 days 2 h 15 min'."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{days} day{'s' if days != 1 else ''}" if days else "",
        f"{hours} h" if hours else "",
        f"{mins} min" if mins else "",
    ]
    return " ".join(p for p in parts if p) or "less than a minute"


class ConsoleChat:
    """Reads lines, acts as the chosen person, prints what the bot sends."""

    def __init__(self, core: Core, out: TextIO = sys.stdout, clock_file: Path | None = None) -> None:
        self.core = core
        self.out = out
        # Where the simulated clock is kept between chats (`policybot chat` keeps it in the data folder).
        self.clock_file = clock_file
        self.channel = ConsoleChannel(core.people, self.write)
        core.add_channel(self.channel)
        self.echo = False

    def write(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def start(self, as_person: str = "") -> None:
        people = self.core.people.people
        first = as_person or next((p.id for p in people if not p.roles and p.employed), people[0].id)
        self.write(f"policybot terminal chat for {self.core.settings.school.name}.")
        self.write(
            "Type /help for what the bot can do, /who for the people you can act as, /as NAME to switch, "
            "/quit to leave."
        )
        self.write(self.clock_line())
        await self.switch(first)
        await self.settle()

    async def switch(self, name: str) -> None:
        found = self.core.match(name)
        if len(found) != 1:
            self.write(
                "I couldn't tell who you meant." if found else f"Nobody called {name!r}. Type /who to see everyone."
            )
            return
        p = found[0]
        roles = ", ".join({"slt": "SLT", "admin": "administrator"}[r] for r in sorted(p.roles)) or (
            "staff" if p.employed else "volunteer"
        )
        self.write(f"You are now {p.describe()} [{roles}].")
        self.channel.switch(p.id)

    async def settle(self) -> None:
        """Run the scheduler and deliver everything due, so the screen is up to date."""
        await self.core.tick()
        await self.core.flush()

    async def line(self, raw: str) -> bool:
        """Handle one typed line; False when the chat should end."""
        text = raw.strip()
        if not text:
            return True
        me = self.channel.active
        if self.echo:
            self.write(f"\n{self.core.people.name(me)}> {safe(text)}")
        word = text.lower()
        try:
            if word in ("/quit", "/exit"):
                return False
            if word.startswith("/as "):
                await self.switch(text[4:].strip())
                return True
            if word == "/who":
                for p in self.core.people.people:
                    roles = " ".join(sorted(p.roles)) or ("staff" if p.employed else "volunteer")
                    self.write(f"  {p.id:12} {p.describe()} [{roles}]")
                return True
            if word == "/time":
                self.write(f"It is {when(self.core.now(), self.core.settings.school.tz)} (school time).")
                return True
            if word == "/time reset":
                self.core.clock.reset()
                self.save_clock()
                self.write(
                    f"The clock is back to the real time: it is {when(self.core.now(), self.core.settings.school.tz)}."
                )
                return True
            if word.startswith("/advance"):
                await self.advance(text[len("/advance") :].strip())
                return True
            event = self.to_event(me, text)
            await self.core.handle(event)
            if word == "/help":
                self.write("In this terminal you can also type: /as NAME, /who, /time, /advance 2h (or 1d), /quit.")
            await self.settle()
        except PolicybotError as exc:
            self.write(f"Sorry: {exc}")
        except Exception:
            ref = reference()
            log.exception("unexpected error, reference %s", ref)
            self.write(
                f"Sorry, something went wrong on my side (reference {ref}). "
                "Your last message may not have been saved; "
                "please try again, and tell your administrator if it keeps happening."
            )
        return True

    async def advance(self, amount: str) -> None:
        m = re.fullmatch(r"(\d+)\s*([mhd])", amount or "1d")
        if not m:
            self.write("Tell me how far to move the clock, like /advance 2h or /advance 1d.")
            return
        n, unit = int(m.group(1)), m.group(2)
        delta = {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]
        if delta > MAX_ADVANCE:
            self.write("I can move the clock on by at most 31 days at a time, like /advance 7d.")
            return
        tz = self.core.settings.school.tz
        # The scheduler runs every quarter of an hour of simulated time, as it would in
        # `policybot serve`, so reminders arrive at their own times and none looks late.
        moved = timedelta(0)
        while moved < delta:
            step = min(ADVANCE_STEP, delta - moved)
            self.core.clock.advance(step)
            moved += step
            if await self.core.tick():
                self.write(f"-- {when(self.core.now(), tz)} --")
                await self.core.flush()
        await self.core.flush()  # anything else now due (a retried message)
        self.save_clock()
        self.write(f"The clock moves on: it is now {when(self.core.now(), tz)}.")

    def clock_line(self) -> str:
        """What time the chat thinks it is, and whether (and how) it was moved on."""
        now = when(self.core.now(), self.core.settings.school.tz)
        moved = self.core.clock.offset
        if not moved:
            return f"The chat's clock says {now}, the real time; /advance 1d moves it on, and /time shows it."
        kept = f", kept in {self.clock_file}" if self.clock_file else ""
        return (
            f"The chat's clock says {now}: /advance moved it on by {_duration(moved)} in earlier chats{kept}. "
            "Type /time reset to go back to the real time."
        )

    def save_clock(self) -> None:
        """Keep how far the clock was moved on in the data folder, so the next chat carries on from here."""
        if self.clock_file is None:
            return
        moved = self.core.clock.offset
        if moved:
            self.clock_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.clock_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"advanced_seconds": moved.total_seconds()}), encoding="utf-8")
            os.replace(tmp, self.clock_file)
        else:
            self.clock_file.unlink(missing_ok=True)

    def to_event(self, me: str, text: str) -> Inbound:
        """What a typed line means: a number picks from the card shown last (its question's
        choices, or its buttons); anything else, or a number when that card offers nothing,
        is sent as typed."""
        menu = self.channel.menus.get(me, [])
        if text.isdigit() and menu and 1 <= int(text) <= len(menu):
            item = menu[int(text) - 1]
            if isinstance(item, Button):
                return Inbound("console", me, "action", action=item.action, data=dict(item.data))
            return Inbound("console", me, "text", text=item.value)
        if text.startswith("/"):
            name, _, rest = text[1:].partition(" ")
            return Inbound("console", me, "command", command=name, text=rest)
        return Inbound("console", me, "text", text=text)

    async def run(self, stream: TextIO = sys.stdin, as_person: str = "") -> None:
        """Chat until the end of input, /quit or Ctrl-C (which ends it cleanly, nothing lost), starting as
        `as_person` (`policybot chat --as NAME`) or else the first member of staff."""
        self.echo = not stream.isatty()
        loop = asyncio.get_running_loop()
        lines = Lines(stream, loop)
        interruptible = False
        with contextlib.suppress(
            NotImplementedError, RuntimeError, ValueError
        ):  # not on Windows: Ctrl-C stops it as before
            loop.add_signal_handler(signal.SIGINT, lines.interrupt)
            interruptible = True
        try:
            await self.start(as_person)
            while True:
                if stream.isatty():
                    print(f"{self.core.people.name(self.channel.active)}> ", end="", file=self.out, flush=True)
                raw = await lines.get()
                if lines.interrupted:
                    self.write("\nGoodbye. (Ctrl-C: everything so far is saved; type policybot chat to carry on.)")
                    return
                if raw == "" or not await self.line(raw):
                    self.write("Goodbye.")
                    return
        finally:
            if interruptible:
                loop.remove_signal_handler(signal.SIGINT)


class Lines:
    """Lines typed into the chat, read by a thread of their own.

    A read of the terminal cannot be interrupted, and a thread of asyncio's pool is waited
    for when the chat ends, so Ctrl-C would do nothing until Enter. This thread is a daemon
    that nothing waits for; standard input is read from its file descriptor, with no lock
    of Python's that interpreter shutdown could find held.
    """

    def __init__(self, stream: TextIO, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.interrupted = False
        read = self._read_fd if stream is sys.stdin and _has_fd(stream) else self._read_stream
        threading.Thread(target=read, args=(stream,), name="policybot-chat-input", daemon=True).start()

    def interrupt(self) -> None:
        """Ctrl-C: end the chat at once, whatever is still queued."""
        self.interrupted = True
        self.queue.put_nowait("")

    async def get(self) -> str:
        """The next line with its newline, or "" at the end of input or after Ctrl-C."""
        return await self.queue.get()

    def _put(self, line: str) -> None:
        with contextlib.suppress(RuntimeError):  # the chat has ended and its loop is closed
            self.loop.call_soon_threadsafe(self.queue.put_nowait, line)

    def _read_stream(self, stream: TextIO) -> None:
        while True:
            line = stream.readline()
            self._put(line)
            if line == "":
                return

    def _read_fd(self, stream: TextIO) -> None:
        decoder = codecs.getincrementaldecoder(stream.encoding or "utf-8")(errors="replace")
        pending = ""
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *done, pending = pending.split("\n")
            for line in done:
                self._put(line + "\n")
            if not chunk:
                if pending:
                    self._put(pending)
                self._put("")
                return


def _has_fd(stream: TextIO) -> bool:
    try:
        stream.fileno()
    except (OSError, ValueError, AttributeError):
        return False
    return True
