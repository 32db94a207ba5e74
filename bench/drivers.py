"""The load driver processes (``python -m bench.load --serve``), seen from the orchestrator.

Started once and given one plan per phase, so a phase does not wait for interpreters to start.
Each runs in a process group of its own (Ctrl-C reaches the orchestrator only, which stops it).
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from bench.stack import ROOT, StackError


class Driver:
    def __init__(self, name: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.load", "--serve"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            process_group=0,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        for line in stream:
            self._lines.put(line.decode().strip())
        self._lines.put("")  # the process ended

    def _send(self, text: str) -> None:
        if self.process.stdin is None or self.process.poll() is not None:
            msg = f"the load driver {self.name} exited with {self.process.poll()}"
            raise StackError(msg)
        self.process.stdin.write(text.encode() + b"\n")
        self.process.stdin.flush()

    def _expect(self, word: str, timeout: float) -> None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            line = "(nothing)"
        if line != word:
            msg = f"the load driver {self.name} said {line or 'nothing and exited'} instead of {word!r}"
            raise StackError(msg)

    def prepare(self, plan: Path, result: Path, *, timeout: float = 120) -> None:
        """Hand over a plan and wait until its bodies are made."""
        self._send(f"{plan} {result}")
        self._expect("ready", timeout)

    def go(self, start_at: float) -> None:
        self._send(repr(start_at))

    def wait_done(self, timeout: float) -> None:
        self._expect("done", timeout)

    def stop(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
