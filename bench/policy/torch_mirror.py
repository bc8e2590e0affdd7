#!/usr/bin/env python3
"""PyTorch mirror of the flowsteer flow-matching policy (src/train/model.ts), for bench/policy_speed.ts.

The same network, layer by layer, with parameter names equal to ours (`vision.front.conv0.weight`,
`head.fc2.bias`, ...), so the weights load straight from the bundle's `sample.onnx` initializers
(`params/<name>`) with `load_state_dict(strict=True)`:

    instruction tokens (L) -> Embedding -> masked mean sum(m e) / max(1, sum m) [-> Linear -> LayerNorm] = l   (B, D)
    each camera (3, h, w) in [0, 1] -> n x [Conv k3 pad 1 + SiLU + FiLM(l)] -> pool -> Linear -> LayerNorm
        FiLM (when configured): z <- z * (1 + gamma(l)) + beta(l), (gamma, beta) = Linear(l) split per channel
        pool: spatial softmax (1x1 conv to K maps, softmax over positions, expected x/y in [-1, 1]),
              global average, or flatten
    normalised state (S) -> Linear
    features = concat(cameras..., language, state)                               (B, F)
    v(x_t, t | o) = MLP_GELU([features, x_t flattened (H*A), sincos(t)]) -> (B, H, A)
    training only (when subgoal.weight > 0): subgoal(o) = Linear(GELU(Linear(features))) -> (B, A),
    loss = flow MSE + subgoal.weight * subgoal MSE (not exported, so the sampling check leaves it out)

Flow matching, pi0 convention (src/train/flow_matching.ts): t = 1 is noise, t = 0 is data,
x_t = t * noise + (1 - t) * action, target u = noise - action; sampling starts at x_1 = noise and
takes K Euler steps x <- x + dt * v(x, t), dt = -1/K, with t accumulated in fp32 from 1.

    .venv-ref/bin/python bench/policy/torch_mirror.py --spec SPEC.json --phase check|sample|latency|train [...]

SPEC.json is written by bench/policy_speed.ts (or bench/policy/make_mirror_golden.ts): the bundle directory, the policy config (the
architecture), the training settings and the check case (raw observations, noise, our actions).
Each phase prints one JSON object on stdout; notes go to stderr.
"""
import argparse
import base64
import json
import math
import os
import re
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NORM_EPS = 1e-8  # LeRobot's, as src/policy/normalize.ts
TIME_MIN = 0.001  # t = TIME_MIN + (1 - TIME_MIN) * Beta(a, b)


def sinusoidal(t, dim, min_period=4e-3, max_period=4.0):
    """pi0's sin/cos time embedding, computed in fp64 and cast to fp32 (src/nn/ops/time_embedding.ts)."""
    half = dim // 2
    k = torch.arange(half, dtype=torch.float64)
    freqs = 2 * math.pi / (min_period * (max_period / min_period) ** (k / (half - 1)))
    arg = t.to(torch.float64)[:, None] * freqs[None, :]
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=1).to(torch.float32)


class CameraEncoder(nn.Module):
    def __init__(self, vision, height, width, language_dim):
        super().__init__()
        c, h, w = 3, height, width
        self.film = vision.get("film", False)
        for i, (out, stride) in enumerate(zip(vision["channels"], vision["strides"])):
            setattr(self, f"conv{i}", nn.Conv2d(c, out, 3, stride=stride, padding=1))
            if self.film:
                setattr(self, f"film{i}", nn.Linear(language_dim, 2 * out))
            c, h, w = out, (h + 2 - 3) // stride + 1, (w + 2 - 3) // stride + 1
        self.n_convs = len(vision["channels"])
        self.pool = vision["pool"]
        if self.pool == "spatial_softmax":
            self.keypoints = nn.Conv2d(c, vision["keypoints"], 1)
            pooled = 2 * vision["keypoints"]
        else:
            pooled = c if self.pool == "avg" else c * h * w
        self.proj = nn.Linear(pooled, vision["features"])
        self.norm = nn.LayerNorm(vision["features"], eps=1e-5)
        xs = torch.tensor([-1 + 2 * x / (w - 1) if w > 1 else 0.0 for x in range(w)], dtype=torch.float32)
        ys = torch.tensor([-1 + 2 * y / (h - 1) if h > 1 else 0.0 for y in range(h)], dtype=torch.float32)
        coords = torch.stack([xs[None, :].expand(h, w).reshape(-1), ys[:, None].expand(h, w).reshape(-1)])  # (2, hw)
        self.register_buffer("coords", coords, persistent=False)

    def forward(self, image, language):  # (B, 3, h, w), (B, D) -> (B, Fc)
        z = image
        for i in range(self.n_convs):
            z = F.silu(getattr(self, f"conv{i}")(z))
            if self.film:
                gamma, beta = getattr(self, f"film{i}")(language).chunk(2, dim=1)  # (B, C) each
                z = z * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        if self.pool == "spatial_softmax":
            k = self.keypoints(z)  # (B, K, h, w)
            attn = torch.softmax(k.flatten(2), dim=2)  # (B, K, hw)
            pooled = torch.einsum("bkp,cp->bkc", attn, self.coords).flatten(1)  # (B, K*2): x0, y0, x1, y1, ...
        elif self.pool == "avg":
            pooled = z.mean(dim=(2, 3))
        else:
            pooled = z.flatten(1)
        return self.norm(self.proj(pooled))


class Language(nn.Module):
    def __init__(self, vocab_size, dim, project):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, dim)
        self.project = project
        if project:
            self.proj = nn.Linear(dim, dim)
            self.norm = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, tokens, mask):  # (B, L) int64, (B, L) -> (B, D)
        summed = (self.tokens(tokens) * mask[:, :, None]).sum(1)
        pooled = summed / torch.clamp(mask.sum(1, keepdim=True), min=1.0)
        return self.norm(self.proj(pooled)) if self.project else pooled


class State(nn.Module):
    def __init__(self, state_dim, out):
        super().__init__()
        self.proj = nn.Linear(state_dim, out)

    def forward(self, state):
        return self.proj(state)


class Head(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.n = len(widths) - 1
        for i in range(self.n):
            setattr(self, f"fc{i}", nn.Linear(widths[i], widths[i + 1]))

    def forward(self, z):
        for i in range(self.n):
            z = getattr(self, f"fc{i}")(z)
            if i < self.n - 1:
                z = F.gelu(z)  # exact erf form, as ours
        return z


class FlowPolicy(nn.Module):
    """src/train/model.ts `declarePolicyNetwork`: `encode` once per observation, `velocity` per Euler step."""

    def __init__(self, cfg, dims, subgoal=False):
        super().__init__()
        self.cams = [c["name"] for c in dims["cameras"]]
        self.H, self.A = cfg["chunkSize"], dims["actionDim"]
        self.time_dim = cfg["head"]["timeDim"]
        self.language = Language(dims["vocabSize"], cfg["language"]["dim"], cfg["language"].get("project", False))
        self.vision = nn.ModuleDict({c["name"]: CameraEncoder(cfg["vision"], c["height"], c["width"], cfg["language"]["dim"]) for c in dims["cameras"]})
        self.state = State(dims["stateDim"], cfg["stateFeatures"])
        feature_dim = len(self.cams) * cfg["vision"]["features"] + cfg["language"]["dim"] + cfg["stateFeatures"]
        head = cfg["head"]
        self.head = Head([feature_dim + self.H * self.A + head["timeDim"], *[head["hidden"]] * head["depth"], self.H * self.A])
        if subgoal:  # training-only, not in the bundle
            self.subgoal = Head([feature_dim, cfg["subgoal"]["hidden"], self.A])

    def encode(self, images, tokens, mask, state):
        language = self.language(tokens, mask)
        return torch.cat([*(self.vision[c](im, language) for c, im in zip(self.cams, images)), language, self.state(state)], dim=1)

    def velocity(self, features, x_t, t):  # (B, F), (B, H, A), (B) -> (B, H, A)
        z = torch.cat([features, x_t.flatten(1), sinusoidal(t, self.time_dim)], dim=1)
        return self.head(z).reshape(-1, self.H, self.A)

    def forward(self, images, tokens, mask, state, x_t, t):
        """Training: v (B, H, A) and, with the subgoal head, the subgoal (B, A)."""
        features = self.encode(images, tokens, mask, state)
        v = self.velocity(features, x_t, t)
        return (v, self.subgoal(features)) if hasattr(self, "subgoal") else (v, None)

    def sample(self, images, tokens, mask, state, noise, steps):
        """pi0 Euler sampler: x_1 = noise, x <- x + dt * v(x, t), dt = -1/K, t accumulated in fp32."""
        features = self.encode(images, tokens, mask, state)
        dt = torch.tensor(-1.0 / steps, dtype=torch.float32)
        t = torch.tensor(1.0, dtype=torch.float32)
        x = noise
        for _ in range(steps):
            x = x + self.velocity(features, x, t.expand(x.shape[0])) * dt
            t = t + dt
        return x


def load_bundle_weights(model, bundle, strict=True):
    """Initializers `params/<name>` of the bundle's sample.onnx -> the model (strict: same names and shapes;
    not strict: the training-only subgoal head may stay at its initialisation, nothing else)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(os.path.join(bundle, "sample.onnx")).graph
    state = {i.name[len("params/"):]: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer if i.name.startswith("params/")}
    missing, unexpected = model.load_state_dict(state, strict=strict)
    if unexpected or any(not k.startswith("subgoal.") for k in missing):
        raise RuntimeError(f"{bundle}: parameters differ from the mirror: missing {missing}, unexpected {unexpected}")
    return len(state)


class Preprocessor:
    """The bundle's observation processing (docs/policy-format.md), as src/policy/onnx_policy.ts does it."""

    def __init__(self, manifest):
        self.vocab = {w: i for i, w in enumerate(manifest["tokenizer"]["vocab"])}
        self.L = manifest["tokenizer"]["max_length"]
        self.lowercase = manifest["tokenizer"]["lowercase"]
        self.cams = manifest["cameras"]
        self.state_norm = self._norm(manifest["normalization"]["observation.state"])
        self.action_norm = self._norm(manifest["normalization"]["action"])

    @staticmethod
    def _norm(spec):
        if spec["mode"] == "mean_std":
            return spec["mode"], torch.tensor(spec["mean"], dtype=torch.float32), torch.tensor(spec["std"], dtype=torch.float32) + NORM_EPS
        if spec["mode"] == "min_max":
            lo = torch.tensor(spec["min"], dtype=torch.float32)
            return spec["mode"], lo, (torch.tensor(spec["max"], dtype=torch.float32) - lo) + NORM_EPS
        return "identity", None, None

    def tokens(self, texts):
        tokens = np.zeros((len(texts), self.L), dtype=np.int64)
        mask = np.zeros((len(texts), self.L), dtype=np.float32)
        for b, text in enumerate(texts):
            words = [w for w in re.split(r"[\W_]+", text.lower() if self.lowercase else text) if w][: self.L]
            tokens[b, : len(words)] = [self.vocab.get(w, 1) for w in words]
            mask[b, : len(words)] = 1
        return torch.from_numpy(tokens), torch.from_numpy(mask)

    def state(self, x):
        mode, offset, scale = self.state_norm
        if mode == "mean_std":
            return (x - offset) / scale
        if mode == "min_max":
            return 2 * (x - offset) / scale - 1
        return x

    def unnormalize_action(self, y):
        mode, offset, scale = self.action_norm
        if mode == "mean_std":
            return y * scale + offset
        if mode == "min_max":
            return (y + 1) / 2 * scale + offset
        return y

    def __call__(self, states, rgb_by_cam, texts):
        """states (B, S) float32 numpy; rgb_by_cam: per camera (B, h, w, 3) uint8 numpy; texts: B strings."""
        images = [torch.from_numpy(rgb).permute(0, 3, 1, 2).contiguous().to(torch.float32) / 255 for rgb in rgb_by_cam]
        tokens, mask = self.tokens(texts)
        return images, tokens, mask, self.state(torch.from_numpy(states))


def percentile(sorted_ms, p):
    """Nearest rank, as bench/policy_speed.ts."""
    return sorted_ms[max(0, math.ceil(p * len(sorted_ms)) - 1)]


def setup(spec, threads, training=False):
    torch.set_num_threads(threads)
    manifest = json.load(open(os.path.join(spec["bundle"], "policy.json")))
    dims = {
        "stateDim": manifest["state_dim"],
        "actionDim": manifest["action_dim"],
        "cameras": manifest["cameras"],
        "vocabSize": len(manifest["tokenizer"]["vocab"]),
    }
    subgoal = training and spec["config"].get("subgoal", {}).get("weight", 0) > 0
    model = FlowPolicy(spec["config"], dims, subgoal=subgoal)
    n = load_bundle_weights(model, spec["bundle"], strict=not subgoal)
    return model.eval(), manifest, dims, n


def torch_sample(spec):
    """Torch's actions for the spec's raw observations and noise (`check`): tokens, normalised and raw actions."""
    model, manifest, dims, n = setup(spec, 1)
    pre = Preprocessor(manifest)
    case = spec["check"]
    obs = case["observations"]
    B, H, A = len(obs), manifest["chunk_size"], manifest["action_dim"]
    states = np.array([o["state"] for o in obs], dtype=np.float32)
    rgb = [np.stack([np.frombuffer(base64.b64decode(o["images"][c["name"]]), dtype=np.uint8).reshape(c["height"], c["width"], 3) for o in obs]) for c in manifest["cameras"]]
    noise = torch.tensor(case["noise"], dtype=torch.float32).reshape(B, H, A)
    with torch.inference_mode():
        images, tokens, mask, state = pre(states, rgb, [o["task"] for o in obs])
        normalized = model.sample(images, tokens, mask, state, noise, manifest["sampler"]["steps"])
        action = pre.unnormalize_action(normalized)
    return {"params": n, "param_count": sum(p.numel() for p in model.parameters()), "tokens": tokens, "action_normalized": normalized, "action": action}


def phase_sample(spec, args):
    """Torch's sampled actions (flat lists), for golden files."""
    r = torch_sample(spec)
    return {"param_count": r["param_count"], "tokens": r["tokens"].flatten().tolist(), "action_normalized": r["action_normalized"].flatten().tolist(), "action": r["action"].flatten().tolist()}


def phase_check(spec, args):
    """Same raw observations and noise as ours -> max |torch - ours| of the sampled actions."""
    r = torch_sample(spec)
    case = spec["check"]
    action, normalized, tokens = r["action"], r["action_normalized"], r["tokens"]
    ours = torch.tensor(case["action"], dtype=torch.float32).reshape(action.shape)
    ours_norm = torch.tensor(case["action_normalized"], dtype=torch.float32).reshape(action.shape)
    tokens_ours = torch.tensor(case["tokens"], dtype=torch.int64).reshape(tokens.shape)
    return {
        "params": r["params"],
        "param_count": r["param_count"],
        "tokens_equal": bool(torch.equal(tokens, tokens_ours)),
        "max_abs_diff_action": float((action - ours).abs().max()),
        "max_abs_diff_action_normalized": float((normalized - ours_norm).abs().max()),
        "max_abs_action": float(action.abs().max()),
    }


def random_observations(manifest, B, rng):
    states = rng.standard_normal((B, manifest["state_dim"])).astype(np.float32)
    rgb = [rng.integers(0, 256, (B, c["height"], c["width"], 3), dtype=np.uint8) for c in manifest["cameras"]]
    return states, rgb


def phase_latency(spec, args):
    """Per-call latency of the sampler, model only (preprocessed tensors) and with the preprocessing."""
    model, manifest, dims, _ = setup(spec, args.threads)
    pre = Preprocessor(manifest)
    B, calls, H, A, K = args.batch, args.calls, manifest["chunk_size"], manifest["action_dim"], manifest["sampler"]["steps"]
    rng = np.random.default_rng(1)
    states, rgb = random_observations(manifest, B, rng)
    texts = [spec["instructions"][b % len(spec["instructions"])] for b in range(B)]
    noise = torch.from_numpy(rng.standard_normal((B, H, A)).astype(np.float32))
    sampler = model.sample
    if args.compile:
        t0 = time.perf_counter()
        sampler = torch.compile(model.sample)
        with torch.inference_mode():
            sampler(*pre(states, rgb, texts), noise, K)
        print(f"[torch_mirror] torch.compile warm-up {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    # Raw observations one by one, as a robot or simulator hands them over (ours: Observation[]).
    observations = [{"state": states[b], "images": {c["name"]: rgb[k][b] for k, c in enumerate(manifest["cameras"])}, "task": texts[b]} for b in range(B)]

    def full():
        batch_states = np.stack([o["state"] for o in observations])
        batch_rgb = [np.stack([o["images"][c["name"]] for o in observations]) for c in manifest["cameras"]]
        images, tokens, mask, state = pre(batch_states, batch_rgb, [o["task"] for o in observations])
        return pre.unnormalize_action(sampler(images, tokens, mask, state, noise, K)).numpy()

    inputs = pre(states, rgb, texts)

    def model_only():
        return sampler(*inputs, noise, K)

    out = {"batch": B, "calls": calls, "threads": torch.get_num_threads(), "compile": bool(args.compile)}
    fns = {"full": full, "model": model_only}
    with torch.inference_mode():
        for _ in range(max(5, calls // 10)):
            for fn in fns.values():
                fn()
        ms = {k: [] for k in fns}
        cpu = {k: 0.0 for k in fns}
        for _ in range(calls):  # interleaved call by call, so both see the same machine load
            for label, fn in fns.items():
                c0, t0 = time.process_time(), time.perf_counter()
                fn()
                ms[label].append((time.perf_counter() - t0) * 1000)
                cpu[label] += time.process_time() - c0
    for label in fns:
        m = sorted(ms[label])
        out[label] = {"p50": percentile(m, 0.5), "p99": percentile(m, 0.99), "mean": statistics.fmean(m), "cpu_ms_per_call": cpu[label] * 1000 / calls}
    return out


def phase_train(spec, args):
    """Training steps/s: flow-matching MSE with sampled t and noise, clip, AdamW (as src/train/train.ts)."""
    model, manifest, dims, _ = setup(spec, args.threads, training=True)
    model.train()
    tr = spec["train"]
    subgoal_weight = spec["config"].get("subgoal", {}).get("weight", 0)
    B, H, A, L = tr["batchSize"], manifest["chunk_size"], manifest["action_dim"], manifest["tokenizer"]["max_length"]
    torch.manual_seed(0)
    images = [torch.rand(B, 3, c["height"], c["width"]) for c in manifest["cameras"]]
    tokens = torch.randint(0, dims["vocabSize"], (B, L))
    mask = (torch.arange(L)[None, :] < torch.randint(1, L + 1, (B, 1))).float()
    state = torch.randn(B, dims["stateDim"])
    actions = torch.randn(B, H, A)
    subgoal_target = torch.randn(B, A)
    weight = torch.ones(B)
    decay = [p for p in model.parameters() if p.dim() >= 2]  # ours: matrices, kernels, embedding tables
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": tr["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=tr["lr"], betas=tuple(tr["betas"]), eps=tr["eps"],
    )
    beta = torch.distributions.Beta(torch.tensor(tr["timeBeta"]["alpha"]), torch.tensor(tr["timeBeta"]["beta"]))

    def step():
        noise = torch.randn(B, H, A)
        t = TIME_MIN + (1 - TIME_MIN) * beta.sample((B,))
        x_t = t[:, None, None] * noise + (1 - t[:, None, None]) * actions
        target = noise - actions
        opt.zero_grad(set_to_none=True)
        v, subgoal = model(images, tokens, mask, state, x_t, t)
        per = ((v - target) ** 2).mean(dim=(1, 2))
        loss = (weight * per).sum() / weight.sum()
        if subgoal is not None:
            loss = loss + subgoal_weight * (weight * ((subgoal - subgoal_target) ** 2).mean(dim=1)).sum() / weight.sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tr["gradClip"])
        opt.step()
        return loss

    steps = args.steps
    for _ in range(max(3, steps // 2)):
        step()
    rates, cpu_rates = [], []
    for _ in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        rates.append(steps / (time.perf_counter() - t0))
        cpu_rates.append(steps / (time.process_time() - c0))
    rates.sort()
    return {"threads": torch.get_num_threads(), "steps_per_run": steps, "runs": args.runs, "median": statistics.median(rates), "min": rates[0], "max": rates[-1], "per_cpu_second": statistics.median(cpu_rates)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", required=True, help="JSON written by bench/policy_speed.ts")
    ap.add_argument("--phase", required=True, choices=["check", "sample", "latency", "train"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1, help="latency: observations per call")
    ap.add_argument("--calls", type=int, default=200, help="latency: timed calls")
    ap.add_argument("--compile", action="store_true", help="latency: torch.compile the sampler")
    ap.add_argument("--steps", type=int, default=6, help="train: steps per timed run")
    ap.add_argument("--runs", type=int, default=5, help="train: timed runs (the median is reported)")
    args = ap.parse_args()
    spec = json.load(open(args.spec))
    torch.set_num_interop_threads(1)
    result = {"check": phase_check, "sample": phase_sample, "latency": phase_latency, "train": phase_train}[args.phase](spec, args)
    result["torch"] = torch.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
