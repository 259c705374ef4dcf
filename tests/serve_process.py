"""`policybot serve` as a real process on 127.0.0.1, for fault tests: start, kill, restart."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """One `policybot serve`; its log is kept so a test can read (and grep) it."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log_path = log
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "policybot_config")
        }
        self.env.update(env or {})
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "adapters.cli",
                    "serve",
                    "--config",
                    str(self.config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        async with aiohttp.ClientSession() as session:
            for _ in range(300):  # at most 30 s
                assert self.proc.poll() is None, f"policybot serve stopped at start-up:\n{self.log()}"
                try:
                    async with session.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"policybot serve did not start:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a power cut."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop_with(self, sig: signal.Signals, wait: float = 30.0) -> int:
        """Send `sig` (SIGTERM, SIGINT) and return the exit code once the process has stopped."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(wait)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    async def drained(self, limit: float = 30.0) -> bool:
        """True once every acknowledged request is handled and the outbox is empty
        (polls /healthz, at most `limit` seconds)."""
        async with aiohttp.ClientSession() as session:
            for _ in range(int(limit * 10)):
                async with session.get(f"{self.url}/healthz") as resp:
                    health = await resp.json()
                    if health["outbox"] == 0 and health["unhandled"] == 0:
                        return True
                await asyncio.sleep(0.1)
        return False
