#!/usr/bin/env python3
"""Native MuJoCo reference for bench/sim_speed.ts: mj_step and mj_multiRay speed on one MJCF.

    .venv-ref/bin/python bench/native_mujoco_reference.py <scene.xml> <steps> \
        [--state state.json] [--reps 5] [--camera front --size 64 --images 300]

Loads the MJCF by file path (so <include> and <model file=...> resolve relative to it), optionally
restores a full integration state (mjSTATE_INTEGRATION, as written by the TypeScript side), then
times `reps` runs of `steps` mj_step calls, each from that same state. With --camera it also times
64x64 (or --size) images of ray casting from that camera: one mj_multiRay of size*size rays per
image, directions set up as sim/camera.ts RayCamera does (no shading: the native figure is the ray
casting alone). Prints one JSON object on stdout.
"""

import argparse
import json
import platform
import sys
import time

import mujoco
import numpy as np


def restore(model, data, state):
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    if state is None:
        mujoco.mj_resetData(model, data)
    else:
        mujoco.mj_setState(model, data, state, spec)
    mujoco.mj_forward(model, data)


def time_steps(model, data, state, steps, reps):
    restore(model, data, state)  # warm-up run (caches, page faults)
    for _ in range(steps):
        mujoco.mj_step(model, data)
    runs, cpu_runs = [], []
    final_qpos = None
    for _ in range(reps):
        restore(model, data, state)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            mujoco.mj_step(model, data)
        runs.append(steps / (time.perf_counter() - t0))
        cpu_runs.append(steps / max(time.process_time() - c0, 1e-9))
        final_qpos = data.qpos.tolist()
    return runs, cpu_runs, final_qpos


def camera_rays(model, cam_id, size):
    """Per-pixel directions in the camera frame, z = -1 (RayCamera's convention)."""
    f = size / 2 / np.tan(np.deg2rad(model.cam_fovy[cam_id]) / 2)
    c = (size - 1) / 2
    cols, rows = np.meshgrid(np.arange(size), np.arange(size))
    return np.stack([(cols - c) / f, (c - rows) / f, -np.ones_like(cols, dtype=float)], axis=-1).reshape(-1, 3)


def time_camera(model, data, state, camera, size, images):
    cam_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
    if cam_id < 0:
        raise SystemExit(f"camera '{camera}' not found")
    restore(model, data, state)
    dirs_cam = camera_rays(model, cam_id, size)
    n = size * size
    geomgroup = np.array([1, 1, 1, 0, 0, 0], dtype=np.uint8)  # RayCamera's default visible groups
    geomid = np.zeros(n, dtype=np.int32)
    dist = np.zeros(n, dtype=np.float64)
    normal = np.zeros(3 * n, dtype=np.float64)

    def render():
        rot = data.cam_xmat[cam_id].reshape(3, 3)
        vec = (dirs_cam @ rot.T).reshape(-1)
        mujoco.mj_multiRay(model, data, data.cam_xpos[cam_id].copy(), vec, geomgroup, True, -1, geomid, dist, normal, n, mujoco.mjMAXVAL)

    for _ in range(max(1, images // 10)):
        render()
    runs, cpu_runs = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(images):
            render()
        runs.append(images / (time.perf_counter() - t0))
        cpu_runs.append(images / max(time.process_time() - c0, 1e-9))
    hits = int((geomid >= 0).sum())
    return runs, cpu_runs, hits


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("xml")
    p.add_argument("steps", type=int)
    p.add_argument("--state", help="JSON file with {'state': [...]} (mjSTATE_INTEGRATION)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--camera")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--images", type=int, default=300)
    args = p.parse_args()

    model = mujoco.MjModel.from_xml_path(args.xml)
    data = mujoco.MjData(model)
    state = None
    if args.state:
        with open(args.state) as f:
            state = np.array(json.load(f)["state"], dtype=np.float64)
        expected = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_INTEGRATION)
        if state.size != expected:
            raise SystemExit(f"{args.state}: {state.size} state values, the model needs {expected}")

    runs, cpu_runs, final_qpos = time_steps(model, data, state, args.steps, args.reps)
    out = {
        "mujoco": mujoco.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "xml": args.xml,
        "timestep": float(model.opt.timestep),
        "nbody": int(model.nbody),
        "nv": int(model.nv),
        "steps": args.steps,
        "steps_per_s": {"median": float(np.median(runs)), "best": float(max(runs)), "runs": runs},
        "cpu_steps_per_s": {"median": float(np.median(cpu_runs)), "runs": cpu_runs},
        "final_qpos": final_qpos,
    }
    if args.camera:
        cam_runs, cam_cpu_runs, hits = time_camera(model, data, state, args.camera, args.size, args.images)
        out["camera"] = {
            "camera": args.camera,
            "size": args.size,
            "what": "mj_multiRay of size*size rays (ray casting only, no shading)",
            "images_per_s": {"median": float(np.median(cam_runs)), "best": float(max(cam_runs)), "runs": cam_runs},
            "cpu_images_per_s": {"median": float(np.median(cam_cpu_runs)), "runs": cam_cpu_runs},
            "hits": hits,
        }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
