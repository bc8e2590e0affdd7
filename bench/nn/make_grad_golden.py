#!/usr/bin/env python3
"""Golden values for flowsteer's ONNX training engine (src/nn), from PyTorch in float64.

Regenerate (from the repository root, with the reference venv described in NOTES.md):

    .venv-ref/bin/python bench/nn/make_grad_golden.py   # writes test/nn/golden/grads.json

For every op case: deterministic inputs (drawn in float64, rounded to float32 so the fp32
engine and the fp64 reference see identical values), a fixed upstream gradient R, the
op's output y and the gradients of sum(y * R) w.r.t. every input marked `grad`.

For the composed policy-shaped model: parameters, a batch, the loss, every parameter
gradient, and the parameters after three AdamW steps (torch.optim.AdamW, two param groups:
weight decay on rank >= 2 tensors only, global-norm clipping active, a different lr each step).

Tests (test/nn/*.test.ts) read only the JSON; torch is never needed to run them.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "nn", "golden", "grads.json")


class Draw:
    """Deterministic float32-representable values in float64 tensors."""

    def __init__(self, seed):
        self.rs = np.random.RandomState(seed)

    def normal(self, *shape, scale=1.0):
        return torch.tensor(np.float32(self.rs.standard_normal(shape) * scale).astype(np.float64))

    def uniform(self, lo, hi, *shape):
        return torch.tensor(np.float32(self.rs.uniform(lo, hi, shape)).astype(np.float64))

    def away_from_zero(self, *shape, margin=0.05):
        """Normal values nudged away from 0 so ReLU's kink is never straddled."""
        x = self.rs.standard_normal(shape)
        x = np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin, x)
        return torch.tensor(np.float32(x).astype(np.float64))

    def ints(self, hi, *shape):
        return torch.tensor(self.rs.randint(0, hi, size=shape), dtype=torch.int64)


def f32_list(t):
    return [float(str(np.float32(v))) for v in t.detach().reshape(-1).tolist()]


def f64_list(t):
    return [float("%.12g" % v) for v in t.detach().reshape(-1).tolist()]


def tensor_json(t, exact_f32=False):
    if t.dtype == torch.int64:
        return {"dtype": "int64", "shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}
    return {"dtype": "float32", "shape": list(t.shape), "data": f32_list(t) if exact_f32 else f64_list(t)}


def sinusoidal(time, dim, min_period=4e-3, max_period=4.0):
    """pi0's create_sinusoidal_pos_embedding (src/nn/ops/time_embedding.ts)."""
    half = dim // 2
    fraction = torch.linspace(0.0, 1.0, half)
    period = min_period * (max_period / min_period) ** fraction
    scaling = 2 * math.pi / period
    arg = scaling[None, :] * time[:, None]
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=1)


def weighted_mse(pred, target, w):
    per_sample = ((pred - target) ** 2).reshape(pred.shape[0], -1).mean(dim=1)
    return (w * per_sample).sum() / w.sum()


def weighted_soft_ce(logits, q, w):
    per_sample = -(q * F.log_softmax(logits, dim=-1)).sum(dim=-1)
    return (w * per_sample).sum() / w.sum()


def op_case(seed, inputs, fn, attrs=None, no_grad_output=False):
    """inputs: name -> (tensor, requires_grad). Returns the JSON record of one case."""
    d = Draw(seed + 1000)
    leaves = {k: (v.clone().requires_grad_(g) if g else v) for k, (v, g) in inputs.items()}
    y = fn(**leaves)
    record = {
        "attrs": attrs or {},
        "inputs": {k: {**tensor_json(v, exact_f32=True), "grad": g} for k, (v, g) in inputs.items()},
        "output": tensor_json(y),
    }
    if no_grad_output:
        return record
    upstream = d.normal(*y.shape)
    grad_names = [k for k, (_, g) in inputs.items() if g]
    grads = torch.autograd.grad(y, [leaves[k] for k in grad_names], grad_outputs=upstream)
    record["upstream"] = tensor_json(upstream, exact_f32=True)
    record["grads"] = {k: tensor_json(g) for k, g in zip(grad_names, grads)}
    return record


def op_cases():
    D = Draw
    c = {}
    d = D(1)
    c["linear_2d"] = op_case(1, {"x": (d.normal(4, 5), True), "w": (d.normal(3, 5, scale=0.5), True), "b": (d.normal(3), True)},
                             lambda x, w, b: F.linear(x, w, b))
    d = D(2)
    c["linear_3d"] = op_case(2, {"x": (d.normal(2, 3, 5), True), "w": (d.normal(4, 5, scale=0.5), True), "b": (d.normal(4), True)},
                             lambda x, w, b: F.linear(x, w, b))
    d = D(3)
    c["add_broadcast"] = op_case(3, {"a": (d.normal(2, 3, 4), True), "b": (d.normal(3, 1), True)}, lambda a, b: a + b)
    d = D(4)
    c["sub_broadcast"] = op_case(4, {"a": (d.normal(3, 4), True), "b": (d.normal(2, 3, 4), True)}, lambda a, b: a - b)
    d = D(5)
    c["mul_broadcast"] = op_case(5, {"a": (d.normal(2, 3, 4), True), "b": (d.normal(4), True)}, lambda a, b: a * b)
    d = D(6)
    c["div"] = op_case(6, {"a": (d.normal(3, 4), True), "b": (d.uniform(0.5, 2.0, 3, 4), True)}, lambda a, b: a / b)
    d = D(7)
    c["scale"] = op_case(7, {"x": (d.normal(3, 4), True)}, lambda x: x * -1.75, attrs={"c": -1.75})
    for i, (name, fn) in enumerate([("relu", F.relu), ("sigmoid", torch.sigmoid), ("silu", F.silu), ("gelu", F.gelu), ("tanh", torch.tanh)]):
        d = D(10 + i)
        c[name] = op_case(10 + i, {"x": (d.away_from_zero(3, 7) * 2, True)}, lambda x, fn=fn: fn(x))
    for i, (name, size, stride, pad, method) in enumerate([
        ("conv2d_s2_even_patches", 8, 2, 1, "patches"),
        ("conv2d_s2_even_transposed", 8, 2, 1, "transposedConv"),
        ("conv2d_s2_odd_patches", 7, 2, 1, "patches"),
        ("conv2d_s2_odd_transposed", 7, 2, 1, "transposedConv"),
        ("conv2d_s1_patches", 6, 1, 1, "patches"),
        ("conv2d_s1_transposed", 6, 1, 1, "transposedConv"),
    ]):
        d = D(20 + i)
        c[name] = op_case(20 + i, {"x": (d.normal(2, 3, size, size), True), "w": (d.normal(4, 3, 3, 3, scale=0.3), True), "b": (d.normal(4), True)},
                          lambda x, w, b, s=stride, p=pad: F.conv2d(x, w, b, stride=s, padding=p),
                          attrs={"stride": stride, "padding": pad, "weightGrad": method})
    # 16 input channels: ORT runs the 'taps' form's one-hot convs as NCHWc depthwise kernels there.
    for i, (name, size, stride, method) in enumerate([("conv2d_c16_s2_taps", 8, 2, "taps"), ("conv2d_c16_s1_unfold", 6, 1, "unfold")]):
        d = D(26 + i)
        c[name] = op_case(26 + i, {"x": (d.normal(2, 16, size, size), True), "w": (d.normal(8, 16, 3, 3, scale=0.1), True), "b": (d.normal(8), True)},
                          lambda x, w, b, s=stride: F.conv2d(x, w, b, stride=s, padding=1),
                          attrs={"stride": stride, "padding": 1, "weightGrad": method})
    d = D(30)
    c["layer_norm_2d"] = op_case(30, {"x": (d.normal(4, 6, scale=2.0) + 0.5, True), "gamma": (d.normal(6), True), "beta": (d.normal(6), True)},
                                 lambda x, gamma, beta: F.layer_norm(x, (6,), gamma, beta, eps=1e-5))
    d = D(31)
    c["layer_norm_3d"] = op_case(31, {"x": (d.normal(2, 3, 6), True), "gamma": (d.normal(6), True), "beta": (d.normal(6), True)},
                                 lambda x, gamma, beta: F.layer_norm(x, (6,), gamma, beta, eps=1e-5))
    d = D(32)
    c["softmax"] = op_case(32, {"x": (d.normal(3, 5, scale=2.0), True)}, lambda x: F.softmax(x, dim=-1))
    d = D(33)
    c["log_softmax"] = op_case(33, {"x": (d.normal(3, 5, scale=2.0), True)}, lambda x: F.log_softmax(x, dim=-1))
    d = D(34)
    c["reshape"] = op_case(34, {"x": (d.normal(2, 3, 4), True)}, lambda x: x.reshape(2, 12), attrs={"shape": [0, 12]})
    d = D(35)
    c["transpose"] = op_case(35, {"x": (d.normal(2, 3, 4), True)}, lambda x: x.permute(2, 0, 1), attrs={"perm": [2, 0, 1]})
    d = D(36)
    c["concat"] = op_case(36, {"a": (d.normal(2, 3), True), "b": (d.normal(2, 5), True)}, lambda a, b: torch.cat([a, b], dim=1), attrs={"axis": 1})
    d = D(37)
    c["slice"] = op_case(37, {"x": (d.normal(2, 6), True)}, lambda x: x[:, 1:4], attrs={"axis": 1, "start": 1, "end": 4})
    d = D(38)
    idx = torch.tensor([[0, 3, 3, 6, 1], [2, 3, 0, 0, 5], [6, 6, 6, 1, 4]], dtype=torch.int64)
    c["embedding"] = op_case(38, {"table": (d.normal(7, 4), True), "indices": (idx, False)}, lambda table, indices: F.embedding(indices, table))
    d = D(39)
    c["reduce_mean"] = op_case(39, {"x": (d.normal(2, 3, 4), True)}, lambda x: x.mean(dim=1), attrs={"axes": [1]})
    d = D(40)
    c["reduce_sum"] = op_case(40, {"x": (d.normal(2, 3, 4), True)}, lambda x: x.sum(dim=(0, 2)), attrs={"axes": [0, 2]})
    d = D(41)
    c["global_avg_pool"] = op_case(41, {"x": (d.normal(2, 3, 4, 4), True)}, lambda x: x.mean(dim=(2, 3)))
    d = D(42)
    c["time_embedding"] = op_case(42, {"time": (d.uniform(0, 1, 5), False)}, lambda time: sinusoidal(time, 16), attrs={"dim": 16}, no_grad_output=True)
    d = D(43)
    c["mse_weighted"] = op_case(43, {"pred": (d.normal(4, 2, 3), True), "target": (d.normal(4, 2, 3), False), "w": (d.uniform(0.1, 2.0, 4), False)},
                                lambda pred, target, w: weighted_mse(pred, target, w))
    d = D(44)
    logits, q = d.normal(4, 5, scale=2.0), F.softmax(d.normal(4, 5), dim=-1)
    q = torch.tensor(np.float32(q.numpy()).astype(np.float64))
    c["cross_entropy_soft"] = op_case(44, {"logits": (logits, True), "q": (q, False), "w": (d.uniform(0.1, 2.0, 4), False)},
                                      lambda logits, q, w: weighted_soft_ce(logits, q, w))
    d = D(45)
    c["silu_film"] = op_case(45, {"x": (d.normal(2, 3, 4, 5, scale=2.0), True), "gb": (d.normal(2, 6, scale=0.5), True)},
                             lambda x, gb: F.silu(x) * (1 + gb[:, :3, None, None]) + gb[:, 3:, None, None])
    return c


class MiniPolicy(nn.Module):
    """Same layers and parameter names as src/nn/examples/policy_shaped.ts (`policyShapedModel`)."""

    def __init__(self, cfg):
        super().__init__()
        ch = cfg["channels"]
        self.encoder = nn.Module()
        for i in range(4):
            setattr(self.encoder, f"conv{i}", nn.Conv2d(ch[i], ch[i + 1], 3, stride=2, padding=1))
        self.encoder.proj = nn.Linear(ch[4], cfg["imageFeatures"])
        self.encoder.norm = nn.LayerNorm(cfg["imageFeatures"])
        self.tokens = nn.Embedding(cfg["vocab"], cfg["tokenDim"])
        head_in = cfg["imageFeatures"] + cfg["tokenDim"] + cfg["stateDim"] + cfg["chunk"] * cfg["actionDim"] + cfg["timeDim"]
        widths = [head_in] + [cfg["hidden"]] * cfg["depth"] + [cfg["chunk"] * cfg["actionDim"]]
        self.head = nn.Module()
        for i in range(len(widths) - 1):
            setattr(self.head, f"fc{i}", nn.Linear(widths[i], widths[i + 1]))
        self.cfg = cfg
        self.n_fc = len(widths) - 1

    def forward(self, image, tokens, state, x_t, time):
        h = image
        for i in range(4):
            h = F.silu(getattr(self.encoder, f"conv{i}")(h))
        h = h.mean(dim=(2, 3))
        img = self.encoder.norm(self.encoder.proj(h))
        tok = self.tokens(tokens).mean(dim=1)
        z = torch.cat([img, tok, state, x_t.reshape(x_t.shape[0], -1), sinusoidal(time, self.cfg["timeDim"])], dim=1)
        for i in range(self.n_fc):
            z = getattr(self.head, f"fc{i}")(z)
            if i < self.n_fc - 1:
                z = F.gelu(z)
        return z.reshape(x_t.shape)


def policy_case():
    cfg = {"channels": [3, 8, 16, 16, 16], "image": 24, "imageFeatures": 32, "vocab": 11, "tokenDim": 8, "tokenLen": 5,
           "stateDim": 6, "chunk": 4, "actionDim": 3, "timeDim": 8, "hidden": 48, "depth": 2, "batch": 3}
    torch.manual_seed(0)
    model = MiniPolicy(cfg)
    with torch.no_grad():  # round the initial parameters to float32
        for p in model.parameters():
            p.copy_(torch.tensor(np.float32(p.numpy()).astype(np.float64)))
    d = Draw(99)
    B = cfg["batch"]
    batch = {
        "image": d.uniform(0, 1, B, 3, cfg["image"], cfg["image"]),
        "tokens": d.ints(cfg["vocab"], B, cfg["tokenLen"]),
        "state": d.normal(B, cfg["stateDim"]),
        "x_t": d.normal(B, cfg["chunk"], cfg["actionDim"]),
        "time": d.uniform(0, 1, B),
        "target": d.normal(B, cfg["chunk"], cfg["actionDim"]),
        "weight": d.uniform(0.2, 1.5, B),
    }
    params0 = {k: v.detach().clone() for k, v in model.named_parameters()}

    def loss_fn():
        v = model(batch["image"], batch["tokens"], batch["state"], batch["x_t"], batch["time"])
        return v, weighted_mse(v, batch["target"], batch["weight"])

    v, loss = loss_fn()
    grads = torch.autograd.grad(loss, list(model.parameters()))
    grad_norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads))

    opt_cfg = {"lr": 1e-3, "betas": [0.9, 0.99], "eps": 1e-8, "weightDecay": 0.1}
    lrs = [1e-3, 2e-3, 5e-4]
    max_norm = 0.5 * grad_norm  # clipping active on the first step at least
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": opt_cfg["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=opt_cfg["lr"], betas=tuple(opt_cfg["betas"]), eps=opt_cfg["eps"], foreach=False)
    losses, norms = [], []
    for lr in lrs:
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        _, l = loss_fn()
        l.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)))
        losses.append(float(l.detach()))
        opt.step()

    return {
        "config": cfg,
        "batch": {k: tensor_json(v, exact_f32=True) for k, v in batch.items()},
        "params": {k: tensor_json(v, exact_f32=True) for k, v in params0.items()},
        "output": tensor_json(v),
        "loss": float(loss.detach()),
        "gradNorm": grad_norm,
        "grads": {k: tensor_json(g) for (k, _), g in zip(model.named_parameters(), grads)},
        "adamw": {
            "config": opt_cfg,
            "lrs": lrs,
            "maxNorm": max_norm,
            "losses": losses,
            "gradNorms": norms,
            "params": {k: tensor_json(p) for k, p in model.named_parameters()},
        },
    }


def main():
    golden = {
        "generator": "bench/nn/make_grad_golden.py",
        "torch": torch.__version__,
        "dtype": "float64",
        "ops": op_cases(),
        "policy": policy_case(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT) / 1e6:.2f} MB, {len(golden['ops'])} op cases)", file=sys.stderr)


if __name__ == "__main__":
    main()
