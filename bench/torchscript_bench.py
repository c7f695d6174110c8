#!/usr/bin/env python3
"""The Python half of bench_torchscript: inference with the digit CNN of exercise 12.

bench/torchscript_bench.cpp starts this script once with --serve (bench/bench_serve.py) and takes
turns with it. "setup VARIANT BATCH THREADS CALLS" (VARIANT eager: the DigitCnn class of
data/torchscript/export_models.py with the weights of mnist_cnn_state_dict.pth; script:
torch.jit.load of mnist_cnn_scripted.pt; frozen: that, torch.jit.freeze'd) answers "ok"; "run" makes CALLS forward calls on the first
BATCH MNIST test digits under torch.inference_mode() and answers "SECONDS RESULT", RESULT being the
sum of the predicted digits of the last call, which the C++ side compares with its own.
"""
import sys
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "data" / "torchscript"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import serve  # noqa: E402
from export_models import DigitCnn, mnist  # noqa: E402

MODELS = ROOT / "data" / "torchscript"


def load(variant):
    if variant == "eager":
        model = DigitCnn()
        model.load_state_dict(torch.load(MODELS / "mnist_cnn_state_dict.pth"))
    elif variant in ("script", "frozen"):
        model = torch.jit.load(str(MODELS / "mnist_cnn_scripted.pt")).eval()
        if variant == "frozen":
            with warnings.catch_warnings():  # 2.x: "torch.jit.freeze is deprecated"; it still works
                warnings.simplefilter("ignore", FutureWarning)
                model = torch.jit.freeze(model)
    else:
        raise ValueError(f"unknown variant {variant!r}; expected eager, script or frozen")
    return model.eval()


def setup(words):
    if len(words) != 4:
        raise ValueError("setup expects VARIANT BATCH THREADS CALLS")
    variant, batch, threads, calls = words[0], *map(int, words[1:])
    torch.set_num_threads(threads)
    model = load(variant)
    images = mnist("t10k")[0][:batch].contiguous()

    def run():
        with torch.inference_mode():
            for _ in range(calls):
                predictions = model(images).argmax(1)
        return float(predictions.sum())

    return run


if __name__ == "__main__":
    if "--serve" not in sys.argv:
        sys.exit("usage: torchscript_bench.py --serve (bench_torchscript runs it)")
    serve(setup)
