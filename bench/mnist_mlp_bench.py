#!/usr/bin/env python3
"""The PyTorch (Python) half of the MNIST MLP benchmark.

bench/mnist_mlp_bench.cpp starts this script once with --serve and alternates epochs with it: a
C++ epoch, a Python epoch, a C++ epoch... so that both see the same machine state, even on a
machine busy with other work. The two sides build the same network (784-256-128-10, ReLU), the
same optimizer (SGD, lr 0.01, momentum 0.9), the same synthetic data and the same batches (the
same seed drives LibTorch's one generator in the same order on both sides, so even the losses
agree), on the same thread count. With Debian's python3-torch and libtorch-dev both sides run the
same libtorch.so, so the ratio isolates the language.

Alone, it measures Python only:

    /usr/bin/python3 bench/mnist_mlp_bench.py --batch 64 --threads 1            # name value unit
    /usr/bin/python3 bench/mnist_mlp_bench.py --batch 64 --threads 1 --json     # one JSON object

--serve protocol, one line each way: "setup VARIANT BATCH THREADS SAMPLES SEED" (VARIANT is
reference, preshuffled, tuned, manual or eval) answers "ok"; "run" runs one epoch and answers "SECONDS RESULT"
(the epoch's mean loss, or the number of correct predictions); "quit" ends.

Exit status 3 (with a message saying how to install it) when torch cannot be imported.
"""

import argparse
import json
import statistics
import sys

from bench_serve import require_torch, serve, timed

require_torch(__file__)
import torch
import torch.nn.functional as F
from torch import nn

from synthetic_mnist import make_synthetic_mnist, train_preshuffled

INPUTS, HIDDEN1, HIDDEN2, CLASSES = 28 * 28, 256, 128, 10


class Net(nn.Module):
    """solutions/08_mnist_mlp's NetImpl, line for line."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(INPUTS, HIDDEN1)
        self.fc2 = nn.Linear(HIDDEN1, HIDDEN2)
        self.fc3 = nn.Linear(HIDDEN2, CLASSES)

    def forward(self, x):
        x = x.view(x.size(0), INPUTS)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def make_model(foreach=False):
    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, foreach=foreach)
    return net, optimizer


def train_reference(net, optimizer, images, labels, batch_size):
    """solutions/08_mnist_mlp's train_epoch: a fresh order, then index_select per batch."""
    net.train()
    n = images.size(0)
    order = torch.randperm(n)
    total = 0.0
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        x = images.index_select(0, index)
        y = labels.index_select(0, index)
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * index.size(0)
    return total / n


def autograd_step(net, optimizer, set_to_none=False):
    """One training step through autograd, as the reference takes it; with set_to_none the
    gradients are released instead of zeroed ("tuned")."""
    def step(x, y):
        optimizer.zero_grad(set_to_none=set_to_none)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


class ManualStep:
    """The C++ side's ManualStep in Python: the backward pass written by hand into buffers
    allocated once, no autograd graph. The elementwise work and the SGD update run as torch
    operations (a Python loop over the numbers would be far slower), the update with the
    multi-tensor foreach kernels."""

    def __init__(self, net, batch):
        self.params = [net.fc1.weight, net.fc1.bias, net.fc2.weight, net.fc2.bias,
                       net.fc3.weight, net.fc3.bias]
        self.grads = [torch.empty_like(p) for p in self.params]
        self.momentum = None  # the first step: buf = grad
        self.h1, self.h2 = torch.empty(batch, HIDDEN1), torch.empty(batch, HIDDEN2)
        self.d1, self.d2 = torch.empty(batch, HIDDEN1), torch.empty(batch, HIDDEN2)
        self.logits = torch.empty(batch, CLASSES)

    def __call__(self, x, y):
        with torch.no_grad():
            n = x.size(0)
            x = x.view(n, INPUTS)
            w1, b1, w2, b2, w3, b3 = self.params
            gw1, gb1, gw2, gb2, gw3, gb3 = self.grads
            h1, h2, d1, d2, logits = self.h1[:n], self.h2[:n], self.d1[:n], self.d2[:n], self.logits[:n]
            torch.addmm(b1, x, w1.t(), out=h1).clamp_min_(0)
            torch.addmm(b2, h1, w2.t(), out=h2).clamp_min_(0)
            torch.addmm(b3, h2, w3.t(), out=logits)
            log_p = torch.log_softmax(logits, 1)
            rows = torch.arange(n)
            loss = -log_p[rows, y].mean()
            d3 = log_p.exp_()
            d3[rows, y] -= 1.0
            d3.div_(n)
            torch.mm(d3.t(), h2, out=gw3)
            torch.sum(d3, 0, out=gb3)
            torch.mm(d3, w3, out=d2).mul_(h2 > 0)
            torch.mm(d2.t(), h1, out=gw2)
            torch.sum(d2, 0, out=gb2)
            torch.mm(d2, w2, out=d1).mul_(h1 > 0)
            torch.mm(d1.t(), x, out=gw1)
            torch.sum(d1, 0, out=gb1)
            if self.momentum is None:
                self.momentum = [g.clone() for g in self.grads]
            else:
                torch._foreach_mul_(self.momentum, 0.9)
                torch._foreach_add_(self.momentum, self.grads)
            torch._foreach_add_(self.params, self.momentum, alpha=-0.01)
            return loss.item()


EVAL_PASSES = 4  # passes over the data per timed evaluation, as on the C++ side


def evaluate(net, images, labels, batch_size):
    """Predictions batch by batch under inference_mode, EVAL_PASSES times over the data;
    returns the number correct."""
    net.eval()
    n = images.size(0)
    correct = 0
    with torch.inference_mode():
        for _ in range(EVAL_PASSES):
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                predictions = net(images.narrow(0, start, size)).argmax(1)
                correct += int(predictions.eq(labels.narrow(0, start, size)).sum().item())
    return correct


VARIANTS = ("reference", "preshuffled", "tuned", "manual", "eval")


def make_epoch(variant, batch, threads, samples, seed):
    """A fresh start from the seed, as the C++ side makes it: one call = one timed epoch."""
    torch.set_num_threads(threads)
    images, labels = make_synthetic_mnist(samples, seed, CLASSES)
    # "tuned": the fastest stock PyTorch has for an autograd step: released gradients and the
    # multi-tensor (foreach) SGD, against the C++ side's hand-fused SGD loop.
    net, optimizer = make_model(foreach=variant == "tuned")
    if variant == "reference":
        return lambda: train_reference(net, optimizer, images, labels, batch)
    if variant in ("preshuffled", "tuned", "manual"):
        buffers = (torch.empty_like(images), torch.empty_like(labels))
        if variant == "manual":
            step = ManualStep(net, batch)
        else:
            step = autograd_step(net, optimizer, set_to_none=variant == "tuned")
        return lambda: train_preshuffled(net, images, labels, batch, buffers, step)
    if variant == "eval":
        return lambda: evaluate(net, images, labels, batch)
    raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")


def setup(words):
    """The "setup VARIANT BATCH THREADS SAMPLES SEED" request of the --serve protocol."""
    if len(words) != 5:
        raise ValueError("setup expects VARIANT BATCH THREADS SAMPLES SEED")
    return make_epoch(words[0], *map(int, words[1:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help="answer the C++ driver on stdin (see above)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=8192, help="samples per timed epoch")
    parser.add_argument("--reps", type=int, default=5, help="timed epochs; the median counts")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.serve:
        serve(setup)
        return

    tag = f"b{args.batch}_t{args.threads}"
    results, first, seconds = {}, {}, {}
    for variant in VARIANTS:
        epoch = make_epoch(variant, args.batch, args.threads, args.samples, args.seed)
        runs = [timed(epoch) for _ in range(args.warmup + args.reps)]
        first[variant] = runs[0][1]
        seconds[variant] = [run[0] for run in runs[args.warmup:]]
        name = f"eval_{tag}_python" if variant == "eval" else f"train_{tag}_python_{variant}"
        samples = args.samples * (EVAL_PASSES if variant == "eval" else 1)
        results[name] = (samples / statistics.median(seconds[variant]), "samples/s")

    if args.json:
        print(json.dumps({
            "benchmark": "mnist_mlp_python",
            "context": {"python": sys.version.split()[0], "torch": torch.__version__,
                        "threads": torch.get_num_threads(), "batch": args.batch,
                        "samples": args.samples, "reps": args.reps, "warmup": args.warmup,
                        "seed": args.seed},
            "results": {name: {"value": value, "unit": unit} for name, (value, unit) in results.items()},
            "first_epoch": first,
            "seconds": seconds,
        }))
    else:
        for name, (value, unit) in results.items():
            print(f"{name} {value:.6g} {unit}")


if __name__ == "__main__":
    main()
