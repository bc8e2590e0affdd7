#!/usr/bin/env python3
"""Reads a flowsteer-written LeRobot v3 dataset with independent readers and prints a JSON summary.

Readers: pyarrow (parquet schema, arrow types, row groups, values), pandas (tasks.parquet, looked up
the way LeRobot does: ``tasks.iloc[task_index].name``), HF ``datasets`` twice: plain
``load_dataset("parquet")`` (relies on our ``huggingface`` metadata to decode images) and
``Dataset.from_parquet(features=...)`` with the features LeRobot builds from info.json
(``get_hf_features_from_features``), as ``LeRobotDataset`` loads data.

The output is committed as test/data/golden/pyarrow_read.json; test/data/golden.test.ts checks that
flowsteer's own reader sees the same values. Regenerate with the command in README.md.
"""

import json
import pathlib
import shutil
import sys
import tempfile

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PIXELS = [(0, 0), (0, 15), (7, 3), (15, 15)]  # (y, x) probes of each decoded image


def lerobot_hf_features(features: dict) -> datasets.Features:
    """Mirror of lerobot.datasets.utils.get_hf_features_from_features (image/1-D features only)."""
    out = {}
    for key, ft in features.items():
        if ft["dtype"] == "image":
            out[key] = datasets.Image()
        elif tuple(ft["shape"]) == (1,):
            out[key] = datasets.Value(dtype=ft["dtype"])
        else:
            out[key] = datasets.Sequence(length=ft["shape"][0], feature=datasets.Value(dtype=ft["dtype"]))
    return datasets.Features(out)


def floats(values) -> list:
    return [float(v) for v in values]


def main(root: pathlib.Path) -> dict:
    info = json.loads((root / "meta/info.json").read_text())
    stats = json.loads((root / "meta/stats.json").read_text())
    data_files = sorted(str(p) for p in (root / "data").glob("chunk-*/file-*.parquet"))
    episodes_file = root / "meta/episodes/chunk-000/file-000.parquet"

    # ---- pyarrow: schema and physical layout of the data file
    pf = pq.ParquetFile(data_files[0])
    md = pf.metadata
    table = pa.concat_tables([pq.read_table(f) for f in data_files])
    rg0 = md.row_group(0)
    layout = {
        "num_rows": table.num_rows,
        "row_group_sizes": [md.row_group(i).num_rows for i in range(md.num_row_groups)],
        "compression": sorted({rg0.column(i).compression for i in range(rg0.num_columns)}),
        "statistics_on_every_column": all(rg0.column(i).is_stats_set for i in range(rg0.num_columns)),
        "kv_metadata_keys": sorted(k.decode() for k in (md.metadata or {}).keys()),
    }
    arrow_types = {f.name: str(f.type) for f in table.schema}

    # ---- pandas: tasks the way LeRobot looks them up
    tasks_df = pd.read_parquet(root / "meta/tasks.parquet")
    tasks = [str(tasks_df.iloc[i].name) for i in range(len(tasks_df))]
    tasks_index_name = tasks_df.index.name

    # ---- episodes table
    ep_table = pq.read_table(episodes_file)
    episodes_arrow_types = {f.name: str(f.type) for f in ep_table.schema}
    rows = table.to_pylist()
    episodes = []
    for ep in ep_table.to_pylist():
        frames = rows[ep["dataset_from_index"] : ep["dataset_to_index"]]
        first, last = frames[0], frames[-1]
        image_keys = [k for k in info["features"] if info["features"][k]["dtype"] == "image"]
        episodes.append(
            {
                "episode_index": ep["episode_index"],
                "length": ep["length"],
                "tasks": ep["tasks"],
                "dataset_from_index": ep["dataset_from_index"],
                "dataset_to_index": ep["dataset_to_index"],
                "task_text_via_task_index": tasks[first["task_index"]],
                "flowsteer/task_name": ep.get("flowsteer/task_name"),
                "flowsteer/seed": ep.get("flowsteer/seed"),
                "flowsteer/success": ep.get("flowsteer/success"),
                "flowsteer/flaws": json.loads(ep["flowsteer/flaws"]) if ep.get("flowsteer/flaws") else None,
                "frame_index": [f["frame_index"] for f in frames],
                "timestamp_first_last": [float(first["timestamp"]), float(last["timestamp"])],
                "state_first": floats(first["observation.state"]),
                "state_last": floats(last["observation.state"]),
                "action_first": floats(first["action"]),
                "action_last": floats(last["action"]),
                "reward_last": float(last["next.reward"]),
                "done": [f["next.done"] for f in frames],
                "success_last": last["next.success"],
                "image_path_first": {k: first[k]["path"] for k in image_keys},
            }
        )

    # ---- HF datasets, two ways
    cache = tempfile.mkdtemp(prefix="hf-cache-")
    plain = datasets.load_dataset("parquet", data_files=data_files, split="train", cache_dir=cache)
    lerobot_style = datasets.Dataset.from_parquet(data_files, features=lerobot_hf_features(info["features"]), cache_dir=cache)
    images = {}
    for key in [k for k, f in info["features"].items() if f["dtype"] == "image"]:
        probes = {}
        for idx in (0, plain.num_rows - 1):
            arr = np.asarray(plain[idx][key])  # PIL.Image decoded by datasets.Image
            probes[str(idx)] = {
                "shape": list(arr.shape),
                "dtype": str(arr.dtype),
                "pixels": {f"{y},{x}": arr[y, x].tolist() for y, x in PIXELS},
            }
        images[key] = probes
    hf = {
        "plain_features": {k: repr(v) for k, v in plain.features.items()},
        "plain_num_rows": plain.num_rows,
        "plain_row0_state": floats(plain[0]["observation.state"]),
        "lerobot_style_arrow_types": {f.name: str(f.type) for f in lerobot_style.data.schema},
        "lerobot_style_last_action": floats(lerobot_style[lerobot_style.num_rows - 1]["action"]),
        "decoded_images": images,
    }
    shutil.rmtree(cache, ignore_errors=True)

    return {
        "versions": {"pyarrow": pa.__version__, "datasets": datasets.__version__, "pandas": pd.__version__},
        "info_keys": sorted(info.keys()),
        "info": {k: info[k] for k in ("codebase_version", "fps", "total_episodes", "total_frames", "total_tasks", "splits", "data_path", "video_path")},
        "stats_keys": {k: sorted(v.keys()) for k, v in sorted(stats.items())},
        "data_file_layout": layout,
        "arrow_types": arrow_types,
        "episodes_arrow_types": episodes_arrow_types,
        "tasks": tasks,
        "tasks_index_name": tasks_index_name,
        "episodes": episodes,
        "hf_datasets": hf,
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: read_with_pyarrow.py <dataset-dir>")
    print(json.dumps(main(pathlib.Path(sys.argv[1])), indent=2, sort_keys=True))
