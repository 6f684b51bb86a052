"""The `edgematte` command: thin. It parses, calls the API, prints.

One module per group of verbs (remove.py; seller.py: compose, resize, place, check;
device.py: models, warmup, bench; live.py: video, preview, stream; serve.py: serve;
watch.py: watch), each registering its commands here. Modules import only Typer at the top,
so `edgematte --help` loads none of the runtime.

Errors a user can fix print one line on stderr and exit non-zero (codes per class in
errors.py: 2 bad image, 3 model, 4 cannot write, 5 bad option); set EDGEMATTE_DEBUG=1 to see
a traceback for anything unexpected (exit 70).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

import typer

from edgematte.cli import device, live, remove, seller, serve, watch
from edgematte.cli.common import err
from edgematte.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EdgematteError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's formatter alone costs ~140 ms of imports per --help
    help="On-device background removal: cut-outs, masks and composites from INT8 models.",
)
remove.register(app)
seller.register(app)
device.register(app)
live.register(app)
serve.register(app)
watch.register(app)


def _exit_now(code: int) -> None:
    """End the process without the interpreter's teardown.

    Everything a command writes is closed and renamed (or removed) before it returns, so what
    is left is tearing down the heap: with Numba, LLVM and LiteRT loaded that took ~0.3 s of a
    1.5 s `edgematte remove` here (bench/startup.py). atexit handlers (temporary folders,
    multiprocessing) still run, and the standard streams are flushed first.
    """
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to say
            stream.flush()
    os._exit(code)


def main() -> None:
    """Console entry point: one clear line for user errors, never a traceback."""
    # Our own limit (100 MP) judges image sizes; Pillow's DecompressionBombWarning between its
    # 89 MP default and ours would only repeat it, so this process (not the library) silences it.
    warnings.filterwarnings("ignore", message=r"Image size \(\d+ pixels\) exceeds limit")
    code = 0
    try:
        app()
    except SystemExit as exc:  # typer.Exit and sys.exit in a command
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except EdgematteError as exc:
        err(str(exc))
        code = exc.exit_code
    except KeyboardInterrupt:
        err("interrupted")
        code = EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("EDGEMATTE_DEBUG"):
            raise
        err(f"unexpected {type(exc).__name__}: {exc} (set EDGEMATTE_DEBUG=1 for details)")
        code = EXIT_INTERNAL
    _exit_now(code)
