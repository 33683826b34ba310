"""The one check command: formatting, lint and strict typing run with the tests."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "format", "--check", "feedserver", "tests", "bench"],
        ["ruff", "check", "feedserver", "tests", "bench"],
        ["mypy", "feedserver"],
    ],
    ids=["ruff-format", "ruff-check", "mypy-strict"],
)
def test_tool_passes(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
