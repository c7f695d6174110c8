"""What the MNIST-shaped training benchmarks' Python halves share: bench/synthetic_mnist.h in
Python, call for call (the same numbers from the same seed, the same batches)."""

import torch


def make_synthetic_mnist(samples, seed, classes):
    """Standard-normal [samples, 1, 28, 28] images and labels in [0, classes), in this order."""
    torch.manual_seed(seed)
    images = torch.randn(samples, 1, 28, 28)
    labels = torch.randint(0, classes, (samples,), dtype=torch.int64)
    return images, labels


def train_preshuffled(net, images, labels, batch_size, buffers, step):
    """One epoch of shuffled batches gathered once into `buffers`, then a narrow() per batch;
    step(x, y) trains on one batch and returns its loss. Returns the epoch's mean loss."""
    net.train()
    n = images.size(0)
    order = torch.randperm(n)
    x_all, y_all = buffers
    torch.index_select(images, 0, order, out=x_all)
    torch.index_select(labels, 0, order, out=y_all)
    total = 0.0
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        total += step(x_all.narrow(0, start, size), y_all.narrow(0, start, size)) * size
    return total / n
