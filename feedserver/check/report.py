"""What `feedserver check` found: problems, each an error or a warning, and how
they are printed (one line each, or one JSON object for monitoring)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    url: str
    severity: Severity
    message: str

    def as_json(self) -> dict[str, str]:
        return {"url": self.url, "severity": self.severity, "message": self.message}


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # every URL fetched, in order

    def error(self, url: str, message: str) -> None:
        self.problems.append(Problem(url, "error", message))

    def warning(self, url: str, message: str) -> None:
        self.problems.append(Problem(url, "warning", message))

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def as_json(self) -> str:
        return json.dumps({"ok": self.ok, "problems": [p.as_json() for p in self.problems]}, ensure_ascii=False)

    def as_text(self) -> str:
        lines = [f"{p.severity:<7} {p.url}: {p.message}" for p in self.problems]
        errors = sum(p.severity == "error" for p in self.problems)
        warnings = len(self.problems) - errors
        lines.append(f"{len(self.checked)} document(s) checked: {errors} error(s), {warnings} warning(s)")
        return "\n".join(lines)
