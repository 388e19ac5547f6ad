"""The README as a newcomer reads it: the walkthrough marked for tests/e2e/test_readme_walkthrough.py and
each of its answers a JSON sample, shell blocks that hard-code no address and need no GNU-only command,
and only files the repository has; and the helpers that read and check its blocks."""

from __future__ import annotations

import re

import pytest

from tests.readme_blocks import Step, environment_of, matches, readme_text, steps, walkthrough_blocks
from tests.stack_process import REPO_ROOT

SHELL_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
GNU_ONLY = r"\bdate\b[^\n|]* -d|\bsed -i\b|\breadlink -f\b|\bgrep -P\b|\bbase64 -w\b"
REPO_PATH = r"(?<![\w/.-])(?:events|tests|local|bench|layers|functions|docs|\.ci)/[\w./-]*\w"


def test_the_walkthrough_has_its_terminals_and_every_answer_it_names_is_a_json_sample() -> None:
    blocks = walkthrough_blocks()
    assert [block.terminal for block in blocks if block.terminal] == ["terminal 1", "terminal 3"]
    named = [
        step
        for block in blocks
        if block.terminal is None
        for step in steps(block.text)
        if "→" in step.comment
    ]
    assert len(named) > 40
    for step in named:
        assert step.expected is not None, step.comment  # json.loads raised otherwise


def test_the_shell_blocks_hard_code_no_address_and_need_no_gnu_only_command() -> None:
    blocks = SHELL_BLOCK.findall(readme_text())
    assert len(blocks) > 20
    for block in blocks:
        assert not re.search(r"localhost|127\.0\.0\.1:\d", block), block
        assert not re.search(
            r"\bdate\b[^\n|]* -d|\bsed -i\b|\breadlink -f\b|\bgrep -P\b|\bbase64 -w\b", block
        )


def test_the_walkthrough_blocks_carry_no_trailing_comments() -> None:
    """zsh (macOS's shell) passes an unquoted `#` and what follows as arguments unless
    interactive_comments is set; whole-line comments only print an error there."""
    for block in walkthrough_blocks():
        for line in block.text.splitlines():
            assert line.startswith("#") or not re.search(r"\s#\s", line), line


def test_the_readme_names_only_files_the_repository_has() -> None:
    text = re.sub(r"https?://\S+", "", readme_text())
    paths = set(
        re.findall(r"(?<![\w/.-])(?:events|tests|local|bench|layers|functions|docs|\.ci)/[\w./-]*\w", text)
    )
    paths |= set(re.findall(r"\b[A-Z][A-Z_]*\.md\b", text))
    assert {"events/README.md", "README.md"} <= paths
    assert [path for path in sorted(paths) if not (REPO_ROOT / path).exists()] == []


def test_steps_are_cut_before_each_comment_and_name_their_answer() -> None:
    block = '# Set up\nA=1\nB=2\n# Ask, on two lines\n# → {"x": [1]}\ncurl a \\\n  b\n# Nothing named\ntrue\n'

    assert steps(block) == [
        Step("Set up", "A=1\nB=2"),
        Step('Ask, on two lines → {"x": [1]}', "curl a \\\n  b"),
        Step("Nothing named", "true"),
    ]
    assert [step.expected for step in steps(block)] == [None, {"x": [1]}, None]


@pytest.mark.parametrize(
    ("sample", "actual", "expected"),
    [
        ({"a": "lead_…"}, {"a": "lead_01x", "b": 2}, True),
        ({"a": "lead_…"}, {"a": "acc_01x"}, False),
        ({"a": 1}, {"b": 1}, False),
        ({"items": [{"s": "failed"}]}, {"items": [{"s": "ok"}, {"s": "failed", "n": 3}]}, True),
        ({"items": [{"s": "failed"}]}, {"items": [{"s": "ok"}]}, False),
        ({"n": 1}, {"n": True}, False),
        ({"ok": True}, {"ok": 1}, False),
        ("Body is not valid JSON…", "Body is not valid JSON: at 1", True),
        ("…/hooks", "http://127.0.0.1:4000/hooks?status=503", False),
        (42, 42, True),
    ],
)
def test_a_sample_shows_part_of_an_answer(sample: object, actual: object, expected: bool) -> None:
    assert matches(sample, actual) is expected


def test_a_commands_environment_is_read_as_the_shell_reads_it() -> None:
    command = 'A=1 B="x y" \\\n  C=a=b make run'

    assert environment_of(command) == ({"A": "1", "B": "x y", "C": "a=b"}, ["make", "run"])
