"""`edgematte tune`: the variant choice measured on the device, stored per device, used by resolve()."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edgematte import tuning
from edgematte.models import cards, resolve, resolve_untuned
from edgematte.profiles import detect


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder (EDGEMATTE_CACHE_DIR) with no tuning in it."""
    monkeypatch.setenv("EDGEMATTE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("EDGEMATTE_NO_TUNING", raising=False)
    tuning.this_device.cache_clear()
    yield tmp_path
    tuning.this_device.cache_clear()


def _write(path, key, profile, choices):
    entry = {"profile": profile, "threads": 2, "tuned_at": "2026-12-02T10:00:00", "choices": choices}
    path.write_text(json.dumps({"version": tuning.FORMAT_VERSION, "devices": {key: entry}}))


def test_pick_keeps_the_profile_choice_on_a_tie():
    assert tuning.pick({"a": 100.0, "b": 97.0}, "a") == "a"  # 3% faster: noise
    assert tuning.pick({"a": 100.0, "b": 90.0}, "a") == "b"
    assert tuning.pick({"a": 80.0, "b": 90.0}, "a") == "a"


def test_candidates_are_drop_in_replacements_that_meet_the_bar():
    u = [c.name for c in tuning.candidates("u2netp", "desktop-x86")]
    assert u[0] == "u2netp-int8" and {"u2netp-fp32", "u2netp-fp16"} <= set(u)
    assert all(cards()[n].input_hw == cards()[u[0]].input_hw for n in u)
    m = [c.name for c in tuning.candidates("modnet", "desktop-x86")]
    assert m[0] == "modnet-fp16" and "modnet-int8" in m
    # Other input sizes, the portrait halves and the letterboxing float original are not drop-ins.
    assert not {"modnet-int8-small", "modnet-int8-portrait", "modnet-fp16-portrait", "modnet-fp32"} & set(m)


def test_a_stored_choice_is_used_only_on_its_device_and_profile(cache, monkeypatch):
    key, profile = tuning.this_device()
    other = "u2netp-fp32" if resolve_untuned("u2netp", profile).name != "u2netp-fp32" else "u2netp-fp16"
    choice = {"u2netp": {"model": other, "default": "u2netp-int8", "times_ms": {other: 50.0, "u2netp-int8": 90.0}}}
    _write(cache / tuning.TUNED_FILE, key, profile, choice)
    assert resolve("product").name == other
    assert resolve("u2netp-int8").name == "u2netp-int8"  # an exact name is never re-tuned
    assert resolve("u2netp", "pi4").name == resolve_untuned("u2netp", "pi4").name  # not this profile
    monkeypatch.setenv("EDGEMATTE_NO_TUNING", "1")
    assert resolve("u2netp").name == resolve_untuned("u2netp").name
    monkeypatch.delenv("EDGEMATTE_NO_TUNING")
    _write(cache / tuning.TUNED_FILE, "another-board", profile, choice)
    assert resolve("u2netp").name == resolve_untuned("u2netp").name


def test_a_damaged_tuning_file_is_ignored(cache):
    (cache / tuning.TUNED_FILE).write_text("{not json")
    assert resolve("u2netp").name == resolve_untuned("u2netp").name
    key, profile = tuning.this_device()
    _write(cache / tuning.TUNED_FILE, key, profile, {"u2netp": {"model": 3}})
    assert resolve("u2netp").name == resolve_untuned("u2netp").name


def test_tune_times_the_real_models_and_stores_the_fastest(cache):
    choices = tuning.tune(runs=3, families=("selfie-landscape", "u2netp"))
    data = json.loads((cache / tuning.TUNED_FILE).read_text())
    key, profile = tuning.this_device()
    stored = data["devices"][key]
    assert stored["profile"] == profile == detect()
    for fam, c in choices.items():
        assert c.model in c.times_ms and c.default in c.times_ms
        assert c.model == tuning.pick(c.times_ms, c.default)
        assert stored["choices"][fam]["model"] == c.model
        assert resolve(fam).name == c.model


def test_cli_tune_then_models_says_why(cache):
    env = {**{k: v for k, v in os.environ.items() if k != "EDGEMATTE_NO_TUNING"}, "EDGEMATTE_CACHE_DIR": str(cache)}
    before = subprocess.run([sys.executable, "-m", "edgematte.cli", "models"], capture_output=True, text=True, env=env)
    assert before.returncode == 0, before.stderr
    assert "default" in before.stdout and "not tuned" in before.stdout
    r = subprocess.run([sys.executable, "-m", "edgematte.cli", "tune", "--runs", "3"], capture_output=True, text=True,
                       env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "tuned in" in r.stdout and str(cache) in r.stdout
    after = subprocess.run([sys.executable, "-m", "edgematte.cli", "models"], capture_output=True, text=True, env=env)
    assert after.returncode == 0, after.stderr
    for fam in tuning.FAMILIES:
        line = next(ln for ln in after.stdout.splitlines() if ln.strip().startswith(fam + " "))
        assert "tuned 20" in line and " ms" in line
    assert "not tuned" not in after.stdout
