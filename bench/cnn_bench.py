#!/usr/bin/env python3
"""The PyTorch (Python) half of the MNIST CNN benchmark.

bench/cnn_bench.cpp starts this script once with --serve and alternates epochs with it, so that
both see the same machine state. The two sides build the same network (solutions/10_cnn: conv 16,
BatchNorm, ReLU, pool, conv 32, BatchNorm, ReLU, pool, fc 64, ReLU, dropout 0.1, fc 10), the same
optimizer (Adam, lr 0.002), the same synthetic data and the same batches (the same seed drives
LibTorch's one generator in the same order on both sides, so even the losses agree), on the same
thread count. With Debian's python3-torch and libtorch-dev both sides run the same libtorch.so,
so the ratio isolates the language.

Alone, it measures Python only:

    /usr/bin/python3 bench/cnn_bench.py --batch 64 --threads 1            # name value unit

--serve protocol (bench/bench_serve.py): "setup VARIANT BATCH THREADS SAMPLES SEED" (VARIANT is
reference, nchw, channels_last, no_onednn or tuned) answers "ok"; "run" runs one epoch and answers
"SECONDS MEAN_LOSS"; "quit" ends.

Exit status 3 (with a message saying how to install it) when torch cannot be imported.
"""

import argparse
import statistics

from bench_serve import require_torch, serve, timed

require_torch(__file__)
import torch
import torch.nn.functional as F
from torch import nn

from synthetic_mnist import make_synthetic_mnist, train_preshuffled

CHANNELS1, CHANNELS2, HIDDEN, CLASSES, DROPOUT = 16, 32, 64, 10, 0.1
LEARNING_RATE = 0.002


class Cnn(nn.Module):
    """solutions/10_cnn's CnnImpl, line for line (the same layers, registered in the same order)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, CHANNELS1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(CHANNELS1)
        self.conv2 = nn.Conv2d(CHANNELS1, CHANNELS2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(CHANNELS2)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(CHANNELS2 * 7 * 7, HIDDEN)
        self.dropout = nn.Dropout(DROPOUT)
        self.fc2 = nn.Linear(HIDDEN, CLASSES)

    def features(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        return self.pool(torch.relu(self.bn2(self.conv2(x))))

    def forward(self, x):
        x = self.flatten(self.features(x))
        x = self.dropout(torch.relu(self.fc1(x)))
        return self.fc2(x)


def init_weights(net):
    """solutions/10_cnn's init_weights: He normal weights, zero biases, BatchNorm 1 and 0."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, 0.0, "fan_in", "relu")
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def train_step(net, optimizer, images, labels):
    """solutions/10_cnn's train_step."""
    net.train()
    return autograd_step(net, optimizer, images, labels)


def autograd_step(net, optimizer, images, labels, set_to_none=False):
    """One step as train_step takes it (the net already in training mode); with set_to_none the
    gradients are released instead of zeroed."""
    optimizer.zero_grad(set_to_none=set_to_none)
    loss = F.cross_entropy(net(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_reference(net, optimizer, images, labels, batch_size):
    """exercises/10_cnn/program.cpp's train_epoch: a fresh order, then index_select per batch."""
    n = images.size(0)
    order = torch.randperm(n)
    total = 0.0
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        total += train_step(net, optimizer, images.index_select(0, index), labels.index_select(0, index)) * index.size(0)
    return total / n


VARIANTS = ("reference", "nchw", "channels_last", "no_onednn", "tuned")


def make_epoch(variant, batch, threads, samples, seed):
    """A fresh start from the seed, as the C++ side makes it: one call = one timed epoch."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    torch.set_num_threads(threads)
    images, labels = make_synthetic_mnist(samples, seed, CLASSES)
    net = Cnn()
    init_weights(net)
    if variant in ("channels_last", "tuned"):
        net = net.to(memory_format=torch.channels_last)
    # "tuned": the fastest stock PyTorch has for this step: the multi-tensor (foreach) Adam and
    # released gradients, against the C++ side's Adam fused into one loop per parameter.
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, foreach=variant == "tuned")
    if variant == "reference":
        return lambda: train_reference(net, optimizer, images, labels, batch)
    buffers = (torch.empty_like(images), torch.empty_like(labels))
    set_to_none = variant == "tuned"

    def step(x, y):
        return autograd_step(net, optimizer, x, y, set_to_none)

    def epoch():
        # The property, not torch.backends.mkldnn.flags(), which warns about TF32 in torch 2.x.
        before = torch.backends.mkldnn.enabled
        torch.backends.mkldnn.enabled = variant != "no_onednn"
        try:
            return train_preshuffled(net, images, labels, batch, buffers, step)
        finally:
            torch.backends.mkldnn.enabled = before
    return epoch


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
    parser.add_argument("--samples", type=int, default=2048, help="samples per timed epoch")
    parser.add_argument("--reps", type=int, default=5, help="timed epochs; the median counts")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.serve:
        serve(setup)
        return
    tag = f"b{args.batch}_t{args.threads}"
    for variant in VARIANTS:
        epoch = make_epoch(variant, args.batch, args.threads, args.samples, args.seed)
        runs = [timed(epoch) for _ in range(args.warmup + args.reps)]
        seconds = [run[0] for run in runs[args.warmup:]]
        print(f"train_{tag}_python_{variant} {args.samples / statistics.median(seconds):.6g} samples/s")


if __name__ == "__main__":
    main()
