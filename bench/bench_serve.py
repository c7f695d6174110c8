"""The Python side of every benchmark's co-process (bench/bench_support.h, PythonServer).

The C++ program starts `python3 SCRIPT --serve` once and takes turns with it, one line each way:
"setup WORD..." answers "ok" after setup(words) has built one workload; "run" runs it once and
answers "SECONDS RESULT" (RESULT: what the run returned, e.g. a mean loss, for the C++ side to
compare); "quit" or the end of input ends. Any failure answers "error: ...", and the C++ side
goes on without Python.
"""

import os
import sys
import time


def require_torch(script):
    """Exits with status 3, saying how to install it, when this Python cannot import torch."""
    try:
        import torch  # noqa: F401
    except ImportError as error:  # pragma: no cover - depends on the machine
        print(f"{os.path.basename(script)}: cannot import torch ({error}) with {sys.executable}.\n"
              "  Debian/Ubuntu: sudo apt-get install python3-torch   (the same LibTorch as libtorch-dev)\n"
              "  elsewhere: pip install torch, or point WORKBOOK_BENCH_PYTHON at a python3 that has it",
              file=sys.stderr)
        sys.exit(3)


def timed(run):
    """Seconds `run()` takes, and what it returns."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def serve(setup):
    """Answers the C++ driver on stdin until "quit"; setup(words) returns a callable, one run."""
    run = None
    for line in sys.stdin:
        words = line.split()
        try:
            if words == ["quit"]:
                break
            if words and words[0] == "setup":
                run = setup(words[1:])
                reply = "ok"
            elif words == ["run"] and run is not None:
                seconds, result = timed(run)
                reply = f"{seconds!r} {result!r}"
            else:
                reply = f"error: unexpected request {line.strip()!r}"
        except Exception as error:  # reported to the driver, which goes on without Python
            reply = f"error: {error}"
        print(reply, flush=True)
