#!/usr/bin/env python3
"""The PyTorch (Python) half of the attention benchmark's training comparison.

bench/attention_bench.cpp starts this script once with --serve and takes turns with it: the
exercise 14 language model (solutions/14_attention: token embedding, sinusoidal positions, post-norm
blocks with hand-written multi-head attention, causal mask) written here line for line, trained
with Adam on the same batches. The same seed drives LibTorch's one generator in the same order on
both sides, so the initial weights, the batches and the losses agree.

--serve protocol (bench_serve.py), one line each way: "setup BATCH THREADS STEPS SEED" answers
"ok"; "run" runs STEPS training steps and answers "SECONDS MEAN_LOSS"; "quit" ends.

Exit status 3 (with a message saying how to install it) when torch cannot be imported.
"""

import math
import sys

from bench_serve import require_torch, serve

require_torch(__file__)
import torch
import torch.nn.functional as F
from torch import nn

# attention.h's TransformerConfig defaults and task sizes.
VOCABULARY, MAX_LENGTH, DIM, HEADS, LAYERS, FEEDFORWARD = 12, 17, 64, 4, 2, 256


def sinusoidal_positions(length, dim):
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    frequencies = torch.pow(10000.0, -torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    angles = pos * frequencies
    return torch.stack([angles.sin(), angles.cos()], 2).view(length, dim).float()


class MultiHeadAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.v_proj, self.out_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def split(self, x):
        b, length, width = x.shape
        return x.view(b, length, self.heads, width // self.heads).transpose(1, 2)

    def forward(self, x, mask):
        q, k, v = self.split(self.q_proj(x)), self.split(self.k_proj(x)), self.split(self.v_proj(x))
        logits = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
        logits = logits.masked_fill(mask, -math.inf)
        shifted = logits - logits.max(-1, keepdim=True).values
        e = shifted.exp()
        weights = e / e.sum(-1, keepdim=True)
        out = (weights @ v).transpose(1, 2).reshape(x.size(0), x.size(1), -1)
        return self.out_proj(out)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = MultiHeadAttention(DIM, HEADS)
        self.linear1, self.linear2 = nn.Linear(DIM, FEEDFORWARD), nn.Linear(FEEDFORWARD, DIM)
        self.norm1, self.norm2 = nn.LayerNorm(DIM), nn.LayerNorm(DIM)
        self.dropout = nn.Dropout(0.0)

    def forward(self, x, mask):
        h = self.norm1(x + self.dropout(self.self_attn(x, mask)))
        return self.norm2(h + self.dropout(self.linear2(self.dropout(torch.relu(self.linear1(h))))))


class TransformerLm(nn.Module):
    def __init__(self):
        super().__init__()
        # The C++ constructor builds the head in its initialiser list and the blocks in its body:
        # the same order here, so that both draw the same initial weights.
        self.embedding = nn.Embedding(VOCABULARY, DIM)
        self.head = nn.Linear(DIM, VOCABULARY)
        self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.register_buffer("positions", sinusoidal_positions(MAX_LENGTH, DIM))

    def forward(self, tokens):
        length = tokens.size(1)
        x = self.embedding(tokens) * math.sqrt(DIM) + self.positions[:length]
        mask = torch.ones(length, length, dtype=torch.bool).triu(1)
        for block in self.blocks:
            x = block(x, mask)
        return self.head(x)


def make_batches(batch, steps, seed):
    """The model first, then the batches: the order the C++ side draws them in."""
    torch.manual_seed(seed)
    model = TransformerLm()
    tokens = torch.randint(0, VOCABULARY, (steps, batch, MAX_LENGTH - 1), dtype=torch.int64)
    targets = torch.randint(0, VOCABULARY, (steps, batch, MAX_LENGTH - 1), dtype=torch.int64)
    return model, tokens, targets


def setup(words):
    batch, threads, steps, seed = (int(w) for w in words)
    torch.set_num_threads(threads)
    model, tokens, targets = make_batches(batch, steps, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def run():
        model.train()
        total = 0.0
        for step in range(steps):
            optimizer.zero_grad()
            logits = model(tokens[step])
            loss = F.cross_entropy(logits.reshape(-1, VOCABULARY), targets[step].reshape(-1), ignore_index=-100)
            loss.backward()
            optimizer.step()
            total += loss.item()
        return total / steps

    return run


if __name__ == "__main__":
    if "--serve" in sys.argv[1:]:
        serve(setup)
    else:
        print(__doc__)
