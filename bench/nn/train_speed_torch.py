#!/usr/bin/env python3
"""PyTorch CPU reference for bench/nn/train_speed.ts: same shapes, AdamW, weighted MSE.

    .venv-ref/bin/python bench/nn/train_speed_torch.py [--threads 1,2]

Median of 5 timed runs after warm-up; also steps per CPU-second of this process, since the
machine is shared.
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoidal(t, dim, min_period=4e-3, max_period=4.0):
    half = dim // 2
    period = min_period * (max_period / min_period) ** torch.linspace(0.0, 1.0, half, dtype=torch.float64)
    arg = (2 * math.pi / period)[None, :] * t.double()[:, None]
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=1).float()


class Policy(nn.Module):
    """NOTES_POLICY_SHAPE of src/nn/examples/policy_shaped.ts."""

    def __init__(self):
        super().__init__()
        ch = [3, 32, 64, 64, 64]
        self.convs = nn.ModuleList([nn.Conv2d(ch[i], ch[i + 1], 3, stride=2, padding=1) for i in range(4)])
        self.proj, self.norm = nn.Linear(64, 128), nn.LayerNorm(128)
        self.tokens = nn.Embedding(256, 64)
        w = [128 + 64 + 14 + 112 + 64, 256, 256, 256, 112]
        self.fcs = nn.ModuleList([nn.Linear(w[i], w[i + 1]) for i in range(len(w) - 1)])

    def forward(self, image, tokens, state, x_t, t):
        h = image
        for c in self.convs:
            h = F.silu(c(h))
        z = torch.cat([self.norm(self.proj(h.mean(dim=(2, 3)))), self.tokens(tokens).mean(1), state, x_t.flatten(1), sinusoidal(t, 64)], 1)
        for i, fc in enumerate(self.fcs):
            z = fc(z)
            if i < len(self.fcs) - 1:
                z = F.gelu(z)
        return z.reshape(x_t.shape)


def measure(label, model, inputs, target, steps):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    w = torch.ones(target.shape[0])

    def step():
        opt.zero_grad(set_to_none=True)
        pred = model(*inputs)
        per = ((pred - target) ** 2).flatten(1).mean(1)
        ((w * per).sum() / w.sum()).backward()
        opt.step()

    for _ in range(max(3, steps // 5)):
        step()
    rates, cpu_rates = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        rates.append(steps / (time.perf_counter() - t0))
        cpu_rates.append(steps / (time.process_time() - c0))
    print(f"{label:34s} threads={torch.get_num_threads()}  {statistics.median(rates):6.1f} steps/s  "
          f"(min {min(rates):.1f}, max {max(rates):.1f}; {statistics.median(cpu_rates):.1f} steps per CPU-second)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    torch.manual_seed(0)
    for threads in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(threads)
        mlp = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 16))
        measure(f"torch {torch.__version__} MLP 64-256-256-16 B=256", mlp, (torch.rand(256, 64),), torch.rand(256, 16), 100)
        B = 64
        inputs = (torch.rand(B, 3, 96, 96), torch.randint(0, 16, (B, 16)), torch.rand(B, 14), torch.rand(B, 16, 7), torch.rand(B))
        measure(f"torch {torch.__version__} policy-shaped B=64", Policy(), inputs, torch.rand(B, 16, 7), 6)


if __name__ == "__main__":
    main()
