"""Warm-up: compile every Numba kernel any command uses, so no customer waits for the JIT.

Numba compiles one machine-code version per argument signature (dtypes, dimensions, memory
layout) and per code path, and caches each on disk. A kernel that only runs for some image
shapes (the weighted INTER_AREA path: downscaling by a non-integer ratio; the box path: by an
integer ratio; the linear path: upscaling) is compiled the first time such an image arrives
unless warm-up sent one. So the warm-up images cover each path for every model's input size,
with and without alpha, through the still path (cut-out, colour, image background, mask) and the
frame path (video, preview and stream outputs). tests/test_readonly_install.py checks that after
`edgematte warmup` no command writes a new cache file.
"""

from __future__ import annotations

import numpy as np

# (height, width) of the still images: upscaled (smaller than every model input), downscaled by
# a non-integer ratio (to 320x320, 256x256, 384x512...) and by 2 exactly (640 -> 320).
STILL_SIZES = ((96, 128), (530, 700), (640, 640))
# Frames: upscaled, by 2 exactly to the preview model's 144x256, and by a non-integer ratio.
FRAME_SIZES = ((96, 128), (288, 512), (300, 400))


def warm_up(model: str | None = None, threads: int | None = None, profile: str | None = None) -> tuple[str, str]:
    """Run every stage once per code path so Numba compiles (or loads) each kernel now.

    Parameters
    ----------
    model
        The still model to warm (name, family or alias). Default None: the profile's default
        (u2netp). The matting model (portrait) is warmed too, since its path differs.
    threads
        Threads, as the commands take them. Default None: the profile's.
    profile
        Device profile. Default None: detected.

    Returns
    -------
    (the still model's card name, where the kernel cache is).
    """
    from edgematte.kernels import CACHE_DIR
    from edgematte.live.modes import FrameMatter
    from edgematte.models import resolve
    from edgematte.still import Session

    rng = np.random.default_rng(0)
    sessions = [Session(model, threads=threads, profile=profile)]
    if sessions[0].model != resolve("portrait", profile).name:
        sessions.append(Session("portrait", threads=threads, profile=profile))
    for h, w in STILL_SIZES:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        rgba = np.dstack([img, rng.integers(0, 256, (h, w), dtype=np.uint8)])
        for s in sessions:
            s.remove(img)
            s.remove(img, format="PNG")
            s.remove(rgba, bg="white")
            s.remove(img, bg=img[::-1].copy())
            s.remove(img, mask_only=True)
    for h, w in FRAME_SIZES:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for output in ("composite", "rgba", "alpha"):  # every kernel the frame commands use
            with FrameMatter.for_video(output=output, threads=threads, profile=profile) as fm:
                for i in range(2):
                    fm.matte_for_video(img, float(i))
    for s in sessions:
        s.close()
    return sessions[0].model, CACHE_DIR or "next to the package"
