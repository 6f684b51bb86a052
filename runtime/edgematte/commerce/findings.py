"""What a check says: one finding per rule, with the measured value and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LEVELS = ("fail", "warn", "ok", "info")  # fail = a hard rule is broken (non-zero exit in the CLI)


@dataclass
class Finding:
    """One rule's verdict: what was measured, how it stands, and what to do about it."""

    code: str  # stable id, e.g. "resolution", "white_background"
    level: str  # fail | warn | ok | info
    message: str  # what was measured, in words
    advice: str = ""  # what to do (empty when ok)
    value: Any = None  # the measured value (JSON-ready), None when the rule measures nothing
    limit: Any = None  # the threshold it was held to, None when there is none


@dataclass
class CheckReport:
    """The findings of one check of one image, in the order the rules ran."""

    source: str  # the image's name or path ("<image>" when there is none)
    kind: str  # "photo" (before removal), "edges" (after), "compliance" (finished image)
    preset: str | None  # the preset's name, None when checked without one
    findings: list[Finding] = field(default_factory=list)
    crops: list[str] = field(default_factory=list)  # files written (zoom crops of worst spots)

    def add(self, code: str, level: str, message: str, advice: str = "", value: Any = None, limit: Any = None) -> None:
        """Append a finding; `advice` is kept only for "fail" and "warn".

        Parameters
        ----------
        code
            The rule's stable id.
        level
            One of LEVELS.
        message
            What was measured, in words.
        advice
            What to do. Default "": none (and dropped for "ok" and "info", which need no action).
        value, limit
            The measured value and its threshold. Default None: not a measured rule.
        """
        assert level in LEVELS
        self.findings.append(Finding(code, level, message, advice if level in ("fail", "warn") else "", value, limit))

    @property
    def passed(self) -> bool:
        """True when no finding is a "fail"."""
        return not any(f.level == "fail" for f in self.findings)

    def by_code(self, code: str) -> Finding | None:
        """The first finding with this code (None when the rule did not run).

        Parameters
        ----------
        code
            A finding's stable id, e.g. "resolution".
        """
        return next((f for f in self.findings if f.code == code), None)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data for JSON, with `passed` added."""
        d = asdict(self)
        d["passed"] = self.passed
        return d
