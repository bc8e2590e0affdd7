"""Exports tiny flow-matching policies from PyTorch as flowsteer policy bundles (test fixtures).

Each bundle follows docs/policy-format.md exactly: `policy.json`, `sample.onnx` (observation +
explicit initial noise -> normalised action chunk, K Euler steps unrolled) and `features.onnx`
(observation -> embedding). Weights are random (seeded); the point is an independent producer of
the format, so the TypeScript runtime is tested against a model it did not build. `expected.json`
holds raw observations, the tensors fed to the graphs, and torch's outputs.

Regenerate (from the repository root):
    .venv-ref/bin/python bench/policy/export_torch_fixture.py
(a venv with torch 2.13 and onnx; see bench/setup_venv.sh and bench/policy/README.md). Needs no
network. Writes test/policy/fixtures/torch_policy/ and test/policy/fixtures/torch_policy_2cam/.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import re

import numpy as np
import torch
import torch.nn as nn

EPS = 1e-8  # LeRobot's normalisation epsilon

# --- conventions (docs/policy-format.md) ---------------------------------------------------------
# pi0 time convention: t = 1 is noise, t = 0 is data; x_t = t * noise + (1 - t) * action; the network
# predicts v = noise - action; Euler from t = 1 to t = 0 with dt = -1/K: x <- x + dt * v(x, t).
# The loop and the time variable stay in fp32 (t accumulated as in pi0's sample_actions).


def tokenize(text: str, vocab: list[str], max_length: int) -> tuple[list[int], list[float]]:
    """Word tokenizer: lowercase, split on anything that is not a letter or digit, unknown -> 1,
    pad with 0 / truncate to max_length; mask 1 for real tokens."""
    index = {w: i for i, w in enumerate(vocab)}
    words = [w for w in re.split(r"[\W_]+", text.lower()) if w]
    ids = [index.get(w, 1) for w in words][:max_length]
    mask = [1.0] * len(ids) + [0.0] * (max_length - len(ids))
    return ids + [0] * (max_length - len(ids)), mask


def normalize(x: torch.Tensor, spec: dict) -> torch.Tensor:
    mode = spec["mode"]
    if mode == "mean_std":
        return (x - torch.tensor(spec["mean"])) / (torch.tensor(spec["std"]) + EPS)
    if mode == "min_max":
        lo, hi = torch.tensor(spec["min"]), torch.tensor(spec["max"])
        return 2 * (x - lo) / (hi - lo + EPS) - 1
    return x


def unnormalize(y: torch.Tensor, spec: dict) -> torch.Tensor:
    mode = spec["mode"]
    if mode == "mean_std":
        return y * (torch.tensor(spec["std"]) + EPS) + torch.tensor(spec["mean"])
    if mode == "min_max":
        lo, hi = torch.tensor(spec["min"]), torch.tensor(spec["max"])
        return (y + 1) / 2 * (hi - lo + EPS) + lo
    return y


class CameraEncoder(nn.Module):
    """Two stride-2 convolutions, SiLU, global average pool, linear: (B, 3, H, W) -> (B, E)."""

    def __init__(self, width: int, out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.proj = nn.Linear(2 * width, out)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        h = nn.functional.silu(self.conv1(img))
        h = nn.functional.silu(self.conv2(h))
        return self.proj(h.mean(dim=(2, 3)))


class TinyFlowPolicy(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.H, self.A, self.K = cfg["chunk_size"], cfg["action_dim"], cfg["steps"]
        self.cams = nn.ModuleList([CameraEncoder(cfg["conv_width"], cfg["embed"]) for _ in cfg["cameras"]])
        self.embed = nn.Embedding(len(cfg["vocab"]), cfg["embed"])
        self.state = nn.Linear(cfg["state_dim"], cfg["embed"])
        self.obs = nn.Linear(cfg["embed"] * (len(cfg["cameras"]) + 2), cfg["features"])
        self.norm = nn.LayerNorm(cfg["features"])
        n_time = 2 * len(cfg["time_freqs"])
        self.head = nn.Sequential(
            nn.Linear(self.H * self.A + cfg["features"] + n_time, cfg["hidden"]),
            nn.GELU(),
            nn.Linear(cfg["hidden"], cfg["hidden"]),
            nn.GELU(),
            nn.Linear(cfg["hidden"], self.H * self.A),
        )
        self.register_buffer("freqs", torch.tensor(cfg["time_freqs"], dtype=torch.float32), persistent=False)

    def features(self, state, images, tokens, mask):
        cam = [enc(img) for enc, img in zip(self.cams, images)]
        # masked mean of the token embeddings: (B, L, E) -> (B, E)
        m = mask.unsqueeze(-1)
        text = (self.embed(tokens) * m).sum(1) / m.sum(1).clamp(min=1.0)
        h = torch.cat(cam + [text, self.state(state)], dim=-1)
        return self.norm(nn.functional.silu(self.obs(h)))

    def velocity(self, x, t, feat):
        # x: (B, H, A), t: fp32 scalar tensor, feat: (B, F) -> v: (B, H, A)
        B = x.shape[0]
        arg = t * self.freqs
        temb = torch.cat([torch.sin(arg), torch.cos(arg)]).unsqueeze(0).expand(B, -1)
        v = self.head(torch.cat([x.reshape(B, self.H * self.A), feat, temb], dim=-1))
        return v.reshape(B, self.H, self.A)

    def sample(self, state, images, tokens, mask, noise):
        feat = self.features(state, images, tokens, mask)
        dt = torch.tensor(-1.0 / self.K, dtype=torch.float32)
        x_t = noise
        time = torch.tensor(1.0, dtype=torch.float32)
        for _ in range(self.K):  # unrolled in the exported graph
            v_t = self.velocity(x_t, time, feat)
            x_t = x_t + dt * v_t
            time = time + dt
        return x_t


class SampleGraph(nn.Module):
    def __init__(self, policy: TinyFlowPolicy):
        super().__init__()
        self.p = policy

    def forward(self, state, *rest):
        n = len(self.p.cams)
        images, tokens, mask, noise = list(rest[:n]), rest[n], rest[n + 1], rest[n + 2]
        return self.p.sample(state, images, tokens, mask, noise)


class FeaturesGraph(nn.Module):
    def __init__(self, policy: TinyFlowPolicy):
        super().__init__()
        self.p = policy

    def forward(self, state, *rest):
        n = len(self.p.cams)
        return self.p.features(state, list(rest[:n]), rest[n], rest[n + 1])


def tensor_specs(cfg: dict, with_noise: bool) -> list[dict]:
    specs = [{"name": "observation.state", "dtype": "float32", "shape": ["B", cfg["state_dim"]]}]
    for name, h, w in cfg["cameras"]:
        specs.append({"name": f"observation.images.{name}", "dtype": "float32", "shape": ["B", 3, h, w]})
    L = cfg["max_length"]
    specs.append({"name": "task.tokens", "dtype": "int64", "shape": ["B", L]})
    specs.append({"name": "task.mask", "dtype": "float32", "shape": ["B", L]})
    if with_noise:
        specs.append({"name": "noise", "dtype": "float32", "shape": ["B", cfg["chunk_size"], cfg["action_dim"]]})
    return specs


def export(cfg: dict, out_dir: str) -> None:
    torch.manual_seed(cfg["seed"])
    policy = TinyFlowPolicy(cfg).eval()
    H, A, S, L = cfg["chunk_size"], cfg["action_dim"], cfg["state_dim"], cfg["max_length"]
    os.makedirs(out_dir, exist_ok=True)

    sample_specs = tensor_specs(cfg, with_noise=True)
    feature_specs = tensor_specs(cfg, with_noise=False)
    manifest = {
        "format_version": 1,
        "name": cfg["name"],
        "created": "2025-01-01T00:00:00Z",  # fixed so regeneration is byte-stable
        **({"task": cfg["task"]} if cfg.get("task") else {}),
        "fps": cfg["fps"],
        "chunk_size": H,
        "action_dim": A,
        "state_dim": S,
        "state_names": cfg["state_names"],
        "action_names": cfg["action_names"],
        "cameras": [{"name": n, "height": h, "width": w} for n, h, w in cfg["cameras"]],
        "sampler": {"type": "euler", "steps": cfg["steps"], "time_convention": "pi0"},
        "normalization": cfg["normalization"],
        "tokenizer": {"type": "word", "lowercase": True, "vocab": cfg["vocab"], "max_length": L},
        "graphs": {
            "sample": {"file": "sample.onnx", "inputs": sample_specs, "outputs": [{"name": "action", "dtype": "float32", "shape": ["B", H, A]}]},
            "features": {
                "file": "features.onnx",
                "inputs": feature_specs,
                "outputs": [{"name": "features", "dtype": "float32", "shape": ["B", cfg["features"]]}],
                "dim": cfg["features"],
            },
        },
        "producer": "bench/policy/export_torch_fixture.py (PyTorch %s, random weights, seed %d)" % (torch.__version__.split("+")[0], cfg["seed"]),
    }
    with open(os.path.join(out_dir, "policy.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    # --- example inputs for tracing -------------------------------------------------------------
    def graph_inputs(observations, noise):
        state = torch.stack([normalize(torch.tensor(o["state"], dtype=torch.float32), cfg["normalization"]["observation.state"]) for o in observations])
        images = []
        for name, h, w in cfg["cameras"]:
            hwc = np.stack([np.frombuffer(o["images"][name], dtype=np.uint8).reshape(h, w, 3) for o in observations])
            images.append(torch.from_numpy(hwc.astype(np.float32) / np.float32(255.0)).permute(0, 3, 1, 2).contiguous())
        tok = [tokenize(o["task"], cfg["vocab"], L) for o in observations]
        tokens = torch.tensor([t for t, _ in tok], dtype=torch.int64)
        mask = torch.tensor([m for _, m in tok], dtype=torch.float32)
        return state, images, tokens, mask, noise

    rng = np.random.default_rng(cfg["seed"] + 1)

    def random_observation(task: str):
        state = (np.array(cfg["state_center"]) + 0.1 * rng.standard_normal(S)).astype(np.float32)
        images = {name: rng.integers(0, 256, size=h * w * 3, dtype=np.uint8).tobytes() for name, h, w in cfg["cameras"]}
        return {"state": [float(v) for v in state], "images": images, "task": task}

    names_in = [s["name"] for s in sample_specs]
    feat_names_in = [s["name"] for s in feature_specs]
    dyn = {n: {0: "B"} for n in names_in + ["action", "features"]}
    obs0 = [random_observation(cfg["instructions"][0])]
    noise0 = torch.randn(1, H, A)
    s, imgs, tok, msk, nz = graph_inputs(obs0, noise0)
    with torch.no_grad():
        torch.onnx.export(
            SampleGraph(policy), (s, *imgs, tok, msk, nz), os.path.join(out_dir, "sample.onnx"),
            input_names=names_in, output_names=["action"], dynamic_axes=dyn, opset_version=17, dynamo=False,
        )
        torch.onnx.export(
            FeaturesGraph(policy), (s, *imgs, tok, msk), os.path.join(out_dir, "features.onnx"),
            input_names=feat_names_in, output_names=["features"], dynamic_axes=dyn, opset_version=17, dynamo=False,
        )

    # --- golden cases ---------------------------------------------------------------------------
    cases = []
    gen = torch.Generator().manual_seed(cfg["seed"] + 2)
    for batch in cfg["case_instructions"]:
        observations = [random_observation(t) for t in batch]
        noise = torch.randn(len(batch), H, A, generator=gen)
        s, imgs, tok, msk, nz = graph_inputs(observations, noise)
        with torch.no_grad():
            action_n = policy.sample(s, imgs, tok, msk, nz)
            feats = policy.features(s, imgs, tok, msk)
        action = unnormalize(action_n, cfg["normalization"]["action"])
        cases.append({
            "observations": [
                {"state": o["state"], "task": o["task"],
                 "images": {n: {"height": h, "width": w, "rgb_base64": base64.b64encode(o["images"][n]).decode()} for n, h, w in cfg["cameras"]}}
                for o in observations
            ],
            "noise": flat(nz),
            "inputs": {"observation.state": flat(s), "task.tokens": tok.flatten().tolist(), "task.mask": flat(msk)},
            "action_normalized": flat(action_n),
            "action": flat(action),
            "features": flat(feats),
        })
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump({"about": "torch outputs for fixed inputs; regenerate with bench/policy/export_torch_fixture.py", "cases": cases}, f)
        f.write("\n")

    # --- sanity check with Python onnxruntime when installed (not needed by the tests) -----------
    try:
        import onnxruntime as ort
    except ImportError:
        return
    sess = ort.InferenceSession(os.path.join(out_dir, "sample.onnx"), providers=["CPUExecutionProvider"])
    worst = 0.0
    for case, batch in zip(cases, cfg["case_instructions"]):
        B = len(batch)
        feeds = {"observation.state": np.array(case["inputs"]["observation.state"], np.float32).reshape(B, S),
                 "task.tokens": np.array(case["inputs"]["task.tokens"], np.int64).reshape(B, L),
                 "task.mask": np.array(case["inputs"]["task.mask"], np.float32).reshape(B, L),
                 "noise": np.array(case["noise"], np.float32).reshape(B, H, A)}
        for name, h, w in cfg["cameras"]:
            hwc = np.stack([np.frombuffer(base64.b64decode(o["images"][name]["rgb_base64"]), np.uint8).reshape(h, w, 3) for o in case["observations"]])
            feeds[f"observation.images.{name}"] = (hwc.astype(np.float32) / np.float32(255.0)).transpose(0, 3, 1, 2).copy()
        got = sess.run(["action"], feeds)[0].flatten()
        worst = max(worst, float(np.abs(got - np.array(case["action_normalized"], np.float32)).max()))
    print(f"{cfg['name']}: python onnxruntime vs torch max |diff| = {worst:.2e}")


def flat(t: torch.Tensor) -> list[float]:
    # float32 values written as the doubles they are exactly, so they read back bit-identically
    return [float(v) for v in t.detach().to(torch.float32).flatten().numpy()]


REACH_VOCAB = ["<pad>", "<unk>", "reach", "the", "red", "ball", "move", "gripper", "to", "touch", "target"]
REACH = {
    "name": "torch_fixture_reach",
    "task": "reach",
    "seed": 0,
    "fps": 20,
    "chunk_size": 16,
    "action_dim": 7,
    "state_dim": 7,
    "steps": 10,
    "max_length": 8,
    "cameras": [("front", 64, 64)],
    "conv_width": 8,
    "embed": 16,
    "features": 32,
    "hidden": 48,
    "time_freqs": [1.0, 2.0, 4.0, 8.0],
    "vocab": REACH_VOCAB,
    "state_names": ["pan.pos", "shoulder.pos", "elbow.pos", "wrist_pitch.pos", "wrist_yaw.pos", "wrist_roll.pos", "gripper.pos"],
    "action_names": ["pan.target", "shoulder.target", "elbow.target", "wrist_pitch.target", "wrist_yaw.target", "wrist_roll.target", "gripper.target"],
    # Around the reach task's home pose so random actions keep the simulated arm sensible.
    "state_center": [0.0, 0.2, 1.6, 1.34, 0.0, 0.0, 0.0],
    "normalization": {
        "observation.state": {"mode": "mean_std", "mean": [0.0, 0.2, 1.6, 1.34, 0.0, 0.0, 0.1], "std": [0.3, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3]},
        "action": {"mode": "mean_std", "mean": [0.0, 0.2, 1.6, 1.34, 0.0, 0.0, 0.1], "std": [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.1]},
    },
    "instructions": ["reach the red ball"],
    # batches of instructions: unknown words, punctuation/case, truncation past max_length, empty-ish
    "case_instructions": [["Reach the RED ball!", "move the gripper to the blue cube, then wave at the camera please"]],
}

TWO_CAM = {
    "name": "torch_fixture_2cam",
    "seed": 7,
    "fps": 10,
    "chunk_size": 4,
    "action_dim": 2,
    "state_dim": 3,
    "steps": 5,
    "max_length": 6,
    # non-square, differently sized cameras catch H/W and NCHW ordering mistakes
    "cameras": [("left", 12, 20), ("wrist", 16, 8)],
    "conv_width": 4,
    "embed": 8,
    "features": 12,
    "hidden": 32,
    "time_freqs": [1.0, 3.0],
    "vocab": ["<pad>", "<unk>", "push", "the", "block", "left", "right"],
    "state_names": ["x", "y", "z"],
    "action_names": ["vx", "vy"],
    "state_center": [0.5, -0.25, 1.0],
    "normalization": {
        "observation.state": {"mode": "identity"},
        "action": {"mode": "min_max", "min": [-0.5, 0.0], "max": [0.5, 2.0]},
    },
    "instructions": ["push the block left"],
    "case_instructions": [["push the block left", "PUSH it right", "nothing known here"]],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="test/policy/fixtures", help="fixtures root")
    args = ap.parse_args()
    torch.set_num_threads(1)
    export(REACH, os.path.join(args.out, "torch_policy"))
    export(TWO_CAM, os.path.join(args.out, "torch_policy_2cam"))


if __name__ == "__main__":
    main()
