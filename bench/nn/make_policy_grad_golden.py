#!/usr/bin/env python3
"""Golden gradients of the flow-matching policy's training loss (src/train/model.ts), from the
PyTorch mirror (bench/policy/torch_mirror.py `FlowPolicy`) in float64.

    .venv-ref/bin/python bench/nn/make_policy_grad_golden.py   # writes test/nn/golden/flow_policy_grads.json

A tiny policy with every part the default one trains: two cameras (one non-square), FiLM after
each conv, a 3-channel and a 16-channel conv (the engine picks different weight-gradient forms
for them), spatial-softmax pooling, the language projection, the subgoal head. Parameters and
batch are drawn in float64 and rounded to float32, so the fp32 engine sees identical values.
The loss is `flowsteer train`'s: weighted flow-matching MSE + subgoal.weight x weighted subgoal MSE.
test/nn/flow_policy_grads.test.ts checks our step graph's loss and every raw gradient against it.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "policy"))
from torch_mirror import FlowPolicy  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "nn", "golden", "flow_policy_grads.json")

CONFIG = {
    "chunkSize": 4,
    "vision": {"channels": [16, 16], "strides": [2, 1], "pool": "spatial_softmax", "keypoints": 4, "features": 8, "film": True},
    "language": {"dim": 8, "maxLength": 5, "project": True},
    "stateFeatures": 8,
    "head": {"hidden": 16, "depth": 2, "timeDim": 8},
    "subgoal": {"weight": 0.5, "hidden": 8},
}
DIMS = {"stateDim": 5, "actionDim": 3, "cameras": [{"name": "front", "height": 12, "width": 10}, {"name": "wrist", "height": 8, "width": 8}], "vocabSize": 9}
B = 3


def f32(a):
    return np.float32(a).astype(np.float64)


def tensor_json(t):
    if t.dtype == torch.int64:
        return {"dtype": "int64", "shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}
    return {"dtype": "float32", "shape": list(t.shape), "data": [float("%.12g" % v) for v in t.detach().reshape(-1).tolist()]}


def main():
    torch.set_default_dtype(torch.float64)
    rs = np.random.RandomState(0)
    model = FlowPolicy(CONFIG, DIMS, subgoal=True).double()
    # Random weights everywhere (FiLM and norms included, so no gradient path is trivially zero).
    with torch.no_grad():
        for name, p in model.named_parameters():
            gain = name.endswith(".weight") and p.dim() == 1  # LayerNorm gains: around 1
            p.copy_(torch.tensor(f32(rs.standard_normal(tuple(p.shape)) * 0.3 + (1.0 if gain else 0.0))))
    H, A, L = CONFIG["chunkSize"], DIMS["actionDim"], CONFIG["language"]["maxLength"]
    images = [torch.tensor(f32(rs.uniform(0, 1, (B, 3, c["height"], c["width"])))) for c in DIMS["cameras"]]
    tokens = torch.tensor(rs.randint(0, DIMS["vocabSize"], (B, L)), dtype=torch.int64)
    mask = torch.tensor(f32((np.arange(L)[None, :] < np.array([[2], [5], [1]])).astype(np.float64)))
    state = torch.tensor(f32(rs.standard_normal((B, DIMS["stateDim"]))))
    x_t = torch.tensor(f32(rs.standard_normal((B, H, A))))
    t = torch.tensor(f32(rs.uniform(0.001, 1, B)))
    target = torch.tensor(f32(rs.standard_normal((B, H, A))))
    weight = torch.tensor(f32(rs.uniform(0.5, 1.5, B)))
    subgoal_target = torch.tensor(f32(rs.standard_normal((B, A))))

    v, subgoal = model(images, tokens, mask, state, x_t, t)
    flow = (weight * ((v - target) ** 2).mean(dim=(1, 2))).sum() / weight.sum()
    aux = (weight * ((subgoal - subgoal_target) ** 2).mean(dim=1)).sum() / weight.sum()
    loss = flow + CONFIG["subgoal"]["weight"] * aux
    names = [n for n, _ in model.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in model.named_parameters()])
    batch = {f"observation.images.{c['name']}": im for c, im in zip(DIMS["cameras"], images)}
    batch.update({"observation.state": state, "task.tokens": tokens, "task.mask": mask, "x_t": x_t, "time": t, "target": target, "weight": weight, "subgoal_target": subgoal_target})
    golden = {
        "torch": torch.__version__,
        "config": CONFIG,
        "dims": DIMS,
        "params": {n: tensor_json(p) for n, p in model.named_parameters()},
        "batch": {k: tensor_json(x) for k, x in batch.items()},
        "loss": float(loss.detach()),
        "grads": {n: tensor_json(g) for n, g in zip(names, grads)},
    }
    with open(OUT, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    print(f"wrote {os.path.relpath(OUT)} ({len(names)} parameters, loss {float(loss.detach()):.6f})")


if __name__ == "__main__":
    main()
