"""A preview window (Tk, from Python's standard library) for a booth with a screen.

Space or C takes the still (on a thread of its own: the preview keeps running), Q or Escape
closes the window. Needs a display (DISPLAY or WAYLAND_DISPLAY) and Python's tkinter
(Debian / Raspberry Pi OS: python3-tk).
"""

from __future__ import annotations

import os
import threading

from edgematte.errors import OptionError
from edgematte.live.booth import Booth


def has_display() -> bool:
    """Whether a graphical display is there to open a window on."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_window(booth: Booth, max_frames: int | None = None, on_capture=None) -> None:  # type: ignore[no-untyped-def]
    """Show the booth's preview until the window is closed, Q is pressed or `max_frames` shown.

    Parameters
    ----------
    booth
        The started Booth.
    max_frames
        Close after this many preview frames were shown. Default None: until closed.
    on_capture
        Called with each Capture (or the exception) from the capture thread. Default None.
    """
    if not has_display():
        raise OptionError("no display for a window: use --serve 127.0.0.1:8090 or -o preview.mp4")
    try:
        import tkinter as tk

        from PIL import Image, ImageTk
    except ImportError:
        raise OptionError("a window needs Python's tkinter (Debian: apt install python3-tk)") from None
    try:
        root = tk.Tk()
    except tk.TclError as exc:
        raise OptionError(f"cannot open a window ({exc})") from None
    root.title("edgematte preview: space = photo, q = quit")
    label = tk.Label(root)
    label.pack()
    shown = {"n": -1, "count": 0, "photo": None}

    def capture(_event=None) -> None:  # type: ignore[no-untyped-def]
        def work() -> None:
            try:
                c = booth.capture()
            except Exception as exc:
                c = exc
            if on_capture is not None:
                on_capture(c)

        threading.Thread(target=work, daemon=True).start()

    def tick() -> None:
        try:
            step()
        except KeyboardInterrupt:  # Tk would print it and stop calling tick: close instead
            root.destroy()

    def step() -> None:
        r = booth.latest
        if r is not None and booth.results != shown["n"]:
            shown["n"] = booth.results
            shown["photo"] = ImageTk.PhotoImage(Image.fromarray(r.pixels))
            label.configure(image=shown["photo"])
            shown["count"] += 1
        done = max_frames is not None and shown["count"] >= max_frames
        if done or not booth.running:
            root.destroy()
            return
        root.after(5, tick)

    for key in ("<space>", "c", "C"):
        root.bind(key, capture)
    for key in ("q", "Q", "<Escape>"):
        root.bind(key, lambda _e: root.destroy())
    root.after(5, tick)
    try:
        root.mainloop()
    except KeyboardInterrupt:
        root.destroy()
    if booth.error is not None:  # the camera or the matting failed: say so, do not exit 0
        raise booth.error
