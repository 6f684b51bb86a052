"""Shared fixtures: real eval images (read in place from ../shared/eval) and real shipped models."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tools/ and bench/ are importable from a checkout

from evaluation import sets as evalsets  # noqa: E402

# A developer's own `edgematte tune` result (~/.cache/edgematte/tuned.json) must not change what
# the tests resolve; tests/test_tuning.py turns tuning back on in a private cache folder.
os.environ["EDGEMATTE_NO_TUNING"] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not evalsets.available():
        skip = pytest.mark.skip(reason=f"eval images not found at {evalsets.eval_root()}")
        for item in items:
            if "needs_eval" in item.keywords:
                item.add_marker(skip)


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def read_grey(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


@pytest.fixture(scope="session")
def u2netp_session():
    from edgematte import Session

    return Session("u2netp-int8", threads=2)


@pytest.fixture(scope="session")
def sample_jpg() -> Path:
    return REPO / "runtime" / "edgematte" / "data" / "sample.jpg"


def default_sigint() -> None:
    """A Popen preexec_fn: Ctrl-C reaches the child as it would from a terminal, even when these
    tests themselves run with SIGINT ignored (a background job of a non-interactive shell), which
    Python would otherwise pass on to the child as 'ignore'."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
