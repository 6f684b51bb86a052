"""What a check says: one finding per rule, with the measured value and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LEVELS = ("fail", "warn", "ok", "info")  # fail = a hard rule is broken (non-zero exit in the CLI)


@dataclass
class Finding:
    code: str  # stable id, e.g. "resolution", "white_background"
    level: str  # fail | warn | ok | info
    message: str  # what was measured, in words
    advice: str = ""  # what to do (empty when ok)
    value: Any = None
    limit: Any = None


@dataclass
class CheckReport:
    source: str
    kind: str  # "photo" (before removal), "edges" (after), "compliance" (finished image)
    preset: str | None
    findings: list[Finding] = field(default_factory=list)
    crops: list[str] = field(default_factory=list)  # files written (zoom crops of worst spots)

    def add(self, code: str, level: str, message: str, advice: str = "", value: Any = None, limit: Any = None) -> None:
        assert level in LEVELS
        self.findings.append(Finding(code, level, message, advice if level in ("fail", "warn") else "", value, limit))

    @property
    def passed(self) -> bool:
        return not any(f.level == "fail" for f in self.findings)

    def by_code(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"] = self.passed
        return d
