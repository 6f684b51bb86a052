"""A real `edgematte serve` on loopback for the tests: started as a child process, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`python -m edgematte serve ARGS` on a free loopback port until `stop()`."""

    def __init__(self, *args: str, host: str = "127.0.0.1", timeout: float = 120.0, log: Path | None = None):
        self.port = free_port()
        self.host = host
        self.log = log or Path(os.environ.get("TMPDIR", "/tmp")) / f"edgematte-serve-{self.port}.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._log = open(self.log, "w+b")  # noqa: SIM115 - open for the child's lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edgematte", "serve", "--host", host, "--port", str(self.port), *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # CI runs us with SIGINT ignored
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if b"listening on" in self.log.read_bytes():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}: {self.output()}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"serve did not start in {timeout} s: {self.output()}")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def output(self) -> str:
        return self.log.read_bytes().decode(errors="replace")

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
