"""The README's code blocks, read and run as a reader runs them.

The walkthrough's shell blocks are marked in the Markdown: `<!-- walkthrough -->` before a block that runs
in the reader's shell (terminal 2), `<!-- walkthrough: terminal N -->` before a long-running command of
its own terminal (the stack, a receiver). A block's comment lines (`# …` at the start of a line) divide
it into steps; a comment ending in `→ <JSON>` says what the step's command answers: a JSON sample in
which `…` inside a string stands for anything, and objects and lists show only part of the answer.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.stack_process import REPO_ROOT

README = REPO_ROOT / "README.md"
_MARKED = re.compile(r"^<!-- walkthrough(?:: (terminal \d))? -->\n```bash\n(.*?)^```", re.S | re.M)
_SENTINEL = "__readme_step_done__"


def readme_text() -> str:
    return README.read_text()


def readme_block(heading: str, language: str) -> str:
    """The first `language` code block after the heading line `heading`."""
    text = readme_text()
    start = text.index(f"\n{heading}\n")
    match = re.compile(rf"^```{language}\n(.*?)^```", re.S | re.M).search(text, start)
    assert match is not None, f"no {language} block after {heading!r}"
    return match.group(1)


@dataclass(frozen=True)
class Block:
    terminal: str | None  # None: the reader's shell; else the terminal the command runs in
    text: str


def walkthrough_blocks() -> list[Block]:
    return [Block(terminal or None, text) for terminal, text in _MARKED.findall(readme_text())]


@dataclass(frozen=True)
class Step:
    comment: str
    commands: str

    @property
    def expected(self) -> Any:
        """The JSON sample after the comment's last `→`, or None when the comment names no answer."""
        if "→ " not in self.comment:
            return None
        return json.loads(self.comment.rsplit("→ ", 1)[1])


def steps(block: str) -> list[Step]:
    """The block cut before each run of comment lines: each comment with the commands below it."""
    found: list[Step] = []
    comment: list[str] = []
    commands: list[str] = []
    for line in block.splitlines():
        if line.startswith("#"):
            if commands:
                found.append(Step(" ".join(comment), "\n".join(commands)))
                comment, commands = [], []
            comment.append(line.lstrip("# ").rstrip())
        else:
            commands.append(line)
    if comment or commands:
        found.append(Step(" ".join(comment), "\n".join(commands)))
    return found


def environment_of(command: str) -> tuple[dict[str, str], list[str]]:
    """`A=1 B="x y" make run` → ({"A": "1", "B": "x y"}, ["make", "run"])."""
    words = shlex.split(command.replace("\\\n", " "))
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def matches(sample: Any, actual: Any) -> bool:
    """`actual` has what `sample` shows: the sample's keys, an item for each of its items, its values
    (`…` in a string standing for any text)."""
    if isinstance(sample, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in sample.items()
        )
    if isinstance(sample, list):
        return isinstance(actual, list) and all(any(matches(item, got) for got in actual) for item in sample)
    if isinstance(sample, str) and "…" in sample:
        pattern = ".*".join(re.escape(part) for part in sample.split("…"))
        return isinstance(actual, str) and re.fullmatch(pattern, actual, re.S) is not None
    return type(sample) is type(actual) and sample == actual


def checkout_with_state(workdir: Path, state_dir: Path) -> Path:
    """`workdir` as a checkout of this repository whose `.leadhub` is `state_dir` (another stack's)."""
    for entry in REPO_ROOT.iterdir():
        if entry.name != ".leadhub":
            (workdir / entry.name).symlink_to(entry)
    (workdir / ".leadhub").symlink_to(state_dir)
    return workdir


class _Lines:
    """A stream's lines, collected by a thread: all of them in `seen`, each also announced in `arrived`."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self.arrived: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.seen.append(line)
            self.arrived.put(line)
        self.arrived.put(None)

    def next(self, deadline: float) -> str | None:
        """The next line (None at the end); queue.Empty when none came before the deadline."""
        return self.arrived.get(timeout=max(0.0, deadline - time.monotonic()))


class Shell:
    """One bash session fed step after step, as a reader pastes them into a terminal."""

    def __init__(self, cwd: Path, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.stdout = _Lines(self.process.stdout)
        self.stderr = _Lines(self.process.stderr)

    def run(self, commands: str, timeout: float = 60) -> tuple[str, int]:
        """The commands' output and the exit status of the last one."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{commands}\nprintf '\\n{_SENTINEL} %s\\n' \"$?\"\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        output: list[str] = []
        while True:
            try:
                line = self.stdout.next(deadline)
            except queue.Empty:
                raise AssertionError(f"no end within {timeout} s: {''.join(output)}") from None
            if line is None:
                raise AssertionError(f"the shell ended: {''.join(output)}")
            if line.startswith(_SENTINEL):
                return "".join(output).removesuffix("\n"), int(line.split()[1])
            output.append(line)

    def errors(self) -> str:
        """What the shell wrote to stderr so far."""
        return "".join(self.stderr.seen)

    def close(self) -> None:
        stop(self.process)


class Terminal:
    """A long-running command of its own terminal (`bash -c`), its output collected."""

    def __init__(self, command: str, cwd: Path, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-c", command],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self.output = _Lines(self.process.stdout)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        """Until a line of the output contains `text`."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.output.seen):
            try:
                ended = self.output.next(deadline) is None
            except queue.Empty:
                ended = True
            if ended and not any(text in line for line in self.output.seen):
                raise AssertionError(f"{text!r} not printed: {''.join(self.output.seen)}")

    def close(self) -> None:
        stop(self.process)


def stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C to the process's group (it has its own session), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
