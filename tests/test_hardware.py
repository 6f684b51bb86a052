"""Device detection (hardware.py) on recorded board files: the right profile for every board."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgematte import hardware
from edgematte.profiles import detect, profiles

BOARDS = Path(__file__).resolve().parent / "data" / "boards"
EXPECTED = {
    "pi4-model-b": ("aarch64", "pi4"),
    "pi4-cpuinfo-only": ("aarch64", "pi4"),
    "pi400": ("aarch64", "pi4"),
    "cm4": ("aarch64", "pi4"),
    "qemu-cortex-a72": ("aarch64", "pi4"),
    "pi5-model-b": ("aarch64", "pi5"),
    "qemu-cortex-a76": ("aarch64", "pi5"),
    "jetson-orin-nano": ("aarch64", "jetson-orin-nano"),
    "jetson-orin-cpuinfo-only": ("aarch64", "jetson-orin-nano"),
    "aws-graviton2": ("aarch64", "arm64-generic"),
    "aws-graviton3": ("aarch64", "arm64-generic"),
    "rock-5b-rk3588": ("aarch64", "arm64-generic"),
    "pi3-model-b-plus": ("aarch64", "arm64-generic"),
    "intel-xeon-8259cl": ("x86_64", "desktop-x86"),
    "intel-core-i7-12700": ("x86_64", "desktop-x86"),
    "amd-epyc-genoa": ("x86_64", "desktop-x86"),
    "amd-epyc-7b12": ("x86_64", "x86-avx2"),
}


def test_every_recorded_board_is_listed():
    assert sorted(p.name for p in BOARDS.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.mark.parametrize("board", sorted(EXPECTED))
def test_board_gets_its_profile(board):
    arch, want = EXPECTED[board]
    name, why = hardware.detect_profile(BOARDS / board, arch, environ={})
    assert name == want, why
    assert why and name in profiles()


def test_facts_of_a_pi5_and_a_xeon():
    pi5 = hardware.read_facts(BOARDS / "pi5-model-b", "aarch64")
    assert pi5.board == "Raspberry Pi 5 Model B Rev 1.0" and pi5.arm_parts == (0xD0B,) * 4
    assert pi5.dotprod and not pi5.i8mm and pi5.cores == 4
    g3 = hardware.read_facts(BOARDS / "aws-graviton3", "aarch64")
    assert g3.i8mm and g3.board == ""
    xeon = hardware.read_facts(BOARDS / "intel-xeon-8259cl", "x86_64")
    assert xeon.vnni and xeon.avx2 and xeon.cpu_name.startswith("Intel(R) Xeon(R) Platinum 8259CL")


def test_environment_overrides():
    root = BOARDS / "pi4-model-b"
    assert hardware.detect_profile(root, "aarch64", {"EDGEMATTE_PROFILE": "pi5"}) == ("pi5", "EDGEMATTE_PROFILE")
    assert hardware.detect_profile(BOARDS / "aws-graviton2", "aarch64", {"ANDROID_ROOT": "/system"})[0] == (
        "android-arm64"
    )


def test_missing_or_garbage_files_never_raise(tmp_path):
    assert hardware.detect_profile(tmp_path, "aarch64", {})[0] == "arm64-generic"
    assert hardware.detect_profile(tmp_path, "x86_64", {})[0] == "x86-avx2"
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_bytes(b"\xff\xfe CPU part : zz\nCPU implementer : 0x41\nCPU part : 0xq\n")
    assert hardware.detect_profile(tmp_path, "aarch64", {})[0] == "arm64-generic"


def test_device_key_is_stable_and_tells_boards_apart():
    keys = {b: hardware.device_key(hardware.read_facts(BOARDS / b, a)) for b, (a, _) in EXPECTED.items()}
    assert keys == {b: hardware.device_key(hardware.read_facts(BOARDS / b, a)) for b, (a, _) in EXPECTED.items()}
    assert keys["pi4-model-b"] == keys["pi4-cpuinfo-only"]  # the same board, seen with and without its device tree
    del keys["pi4-cpuinfo-only"]
    assert len(set(keys.values())) == len(keys)
    assert all(k and " " not in k and "/" not in k for k in keys.values())


def test_this_machine_is_detected():
    assert detect() in profiles()
