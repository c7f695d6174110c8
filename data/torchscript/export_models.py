#!/usr/bin/env python3
"""Exports the TorchScript models that exercise 12 (exercises/12_torchscript) loads from C++.

Run from the repository root with Debian's python3-torch 1.13 (archives it writes load in
LibTorch 1.13 and every later LibTorch; a 2.x writer would not load in 1.13):

    OMP_NUM_THREADS=2 /usr/bin/python3 data/torchscript/export_models.py

It reads MNIST from data/mnist (the four .gz files, with gzip and numpy), trains the digit CNN for
two epochs (about five CPU-minutes: 15 minutes of wall time on the shared 2-core machine it was
written on, under a load average of 10), measures its test accuracy, and writes into
data/torchscript/: the model files, mnist_cnn.json (what Python measured) and SHA256SUMS.
"""
import gzip
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch
from torch import nn, Tensor

HERE = Path(__file__).resolve().parent
MNIST = HERE.parent / "mnist"
MEAN, STD = 0.1307, 0.3081


def read_idx(name: str, offset: int) -> np.ndarray:
    with gzip.open(MNIST / name, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def mnist(split: str) -> Tuple[Tensor, Tensor]:
    """float32 [N, 1, 28, 28] in [0, 1] and int64 [N], like workbook::mnist::to_float in C++."""
    images = read_idx(f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    labels = read_idx(f"{split}-labels-idx1-ubyte.gz", 8)
    return torch.from_numpy(images.astype(np.float32) / 255.0), torch.from_numpy(labels.astype(np.int64))


class TinyMlp(nn.Module):
    """4 -> 8 -> 3, exported by tracing: no control flow, so the trace is the whole model."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class Gate(nn.Module):
    """A branch on the data: tracing records only the branch its example input took."""

    def forward(self, x: Tensor) -> Tensor:
        if bool(x.sum() > 0):
            return x * 2
        return -x


class Heads(nn.Module):
    """forward returns a tuple; as_dict returns the same two tensors in a dict."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 3)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        logits = self.body(x)
        return logits, torch.softmax(logits, dim=1)

    @torch.jit.export
    def as_dict(self, x: Tensor) -> Dict[str, Tensor]:
        logits, probabilities = self.forward(x)
        return {"logits": logits, "probabilities": probabilities}


class DigitCnn(nn.Module):
    """[B, 1, 28, 28] pixels in [0, 1] -> 10 logits. Normalises inside, so C++ feeds raw pixels."""

    mean: float
    std: float
    temperature: float

    def __init__(self):
        super().__init__()
        self.mean = MEAN
        self.std = STD
        self.temperature = 1.0
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(0.25)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x: Tensor) -> Tensor:
        x = (x - self.mean) / self.std
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool(torch.relu(self.bn2(self.conv2(x))))
        return self.fc(self.dropout(torch.flatten(x, 1)))

    @torch.jit.export
    def predict(self, x: Tensor) -> Tensor:
        return self.forward(x).argmax(dim=1)

    @torch.jit.export
    def probabilities(self, x: Tensor) -> Tensor:
        return torch.softmax(self.forward(x) / self.temperature, dim=1)


def train_cnn(epochs: int = 2, batch: int = 64) -> Tuple[DigitCnn, dict]:
    torch.manual_seed(0)
    train_x, train_y = mnist("train")
    test_x, test_y = mnist("t10k")
    model = DigitCnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_y))
        for i in range(0, len(order), batch):
            index = order[i:i + batch]
            loss = nn.functional.cross_entropy(model(train_x[index]), train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}: last loss {loss.item():.4f}", flush=True)
    seconds = time.time() - start
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(test_x[i:i + 1000]).argmax(1) for i in range(0, len(test_y), 1000)])
    correct = predictions.eq(test_y)
    report = {
        "torch_version": torch.__version__,
        "epochs": epochs,
        "batch_size": batch,
        "train_seconds": round(seconds, 1),
        "test_size": len(test_y),
        "test_correct": int(correct.sum()),
        "test_accuracy": float(correct.float().mean()),
        "first_1000_correct": int(correct[:1000].sum()),
        "measured_by": "data/torchscript/export_models.py, model.eval(), torch.no_grad(), batches of 1000",
    }
    return model, report


def main() -> None:
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(0)
    mlp = TinyMlp().eval()
    torch.jit.trace(mlp, torch.randn(2, 4)).save(str(HERE / "tiny_mlp_traced.pt"))

    gate = Gate().eval()
    # The example is positive, so the trace records `x * 2` and never sees the other branch.
    torch.jit.trace(gate, torch.ones(3)).save(str(HERE / "gate_traced.pt"))
    torch.jit.script(gate).save(str(HERE / "gate_scripted.pt"))

    torch.jit.script(Heads().eval()).save(str(HERE / "heads_scripted.pt"))

    cnn, report = train_cnn()
    print(json.dumps(report, indent=2))
    # Saved in training mode, the way a training loop leaves a model: C++ has to call eval().
    cnn.train()
    torch.jit.script(cnn).save(str(HERE / "mnist_cnn_scripted.pt"))
    # Not TorchScript: a pickled state_dict, what torch.jit.load (and torch::jit::load) rejects.
    torch.save(cnn.state_dict(), str(HERE / "mnist_cnn_state_dict.pth"))
    (HERE / "mnist_cnn.json").write_text(json.dumps(report, indent=2) + "\n")

    names = sorted(p.name for p in HERE.iterdir() if p.suffix in {".pt", ".pth", ".json", ".py"})
    sums = "".join(f"{hashlib.sha256((HERE / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    (HERE / "SHA256SUMS").write_text(sums)
    print(sums, end="")


if __name__ == "__main__":
    main()
