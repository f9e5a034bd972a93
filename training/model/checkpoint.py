"""Checkpoint files of training/train.py, in one place: reading them (eval.py, export_hf.py and
train.py's resume / --init-from), rebuilding the model they hold, and writing them.

A checkpoint directory (training/checkpoints/RUN/) holds step_NNNNNN.pt + step_NNNNNN.optim.pt (the
last `keep` steps) and latest.pt / latest.optim.pt, hard links to the newest pair:
  step_NNNNNN.pt        {"model": fp32 state_dict, "model_config", "train_config", "sampler", "rng",
                         "step", "tokens_seen", "elapsed_s", "last_eval", "args", "run", "versions",
                         "saved_at"}
  step_NNNNNN.optim.pt  the AdamW state_dict
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .qwen3moe import ModelConfig, Qwen3MoeLM


def read_checkpoint(path: str) -> dict:
    """The saved object (a checkpoint dict, or an optimizer state) on the CPU."""
    return torch.load(path, map_location="cpu", weights_only=False)


def load_checkpoint(path: str) -> tuple[Qwen3MoeLM, dict]:
    """The checkpoint's model (its config, its fp32 weights, eval mode) and the checkpoint dict."""
    ck = read_checkpoint(path)
    cfg = ModelConfig.from_dict(ck["model_config"])
    model = Qwen3MoeLM(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def optim_path(checkpoint_path: str) -> str:
    """latest.pt -> latest.optim.pt (the AdamW state next to a checkpoint)."""
    return checkpoint_path[: -len(".pt")] + ".optim.pt"


def save_checkpoint(ck_dir: str, state: dict, optim_state: dict, keep: int = 2) -> dict:
    os.makedirs(ck_dir, exist_ok=True)
    step = state["step"]
    base = os.path.join(ck_dir, f"step_{step:06d}")
    for path, obj in ((base + ".pt", state), (base + ".optim.pt", optim_state)):
        torch.save(obj, path + ".tmp")
        os.replace(path + ".tmp", path)
    for name, src in (("latest.pt", base + ".pt"), ("latest.optim.pt", base + ".optim.pt")):
        dst = os.path.join(ck_dir, name)
        tmp = dst + ".tmp"
        if os.path.exists(tmp):
            os.remove(tmp)
        os.link(src, tmp)
        os.replace(tmp, dst)
    steps = sorted(f for f in os.listdir(ck_dir) if f.startswith("step_") and f.endswith(".optim.pt"))
    for f in steps[:-keep]:
        stem = f[: -len(".optim.pt")]
        for suffix in (".pt", ".optim.pt"):
            p = os.path.join(ck_dir, stem + suffix)
            if os.path.exists(p):
                os.remove(p)
    return {"path": base + ".pt", "bytes": os.path.getsize(base + ".pt"),
            "optim_bytes": os.path.getsize(base + ".optim.pt")}


def rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(st: dict) -> None:
    torch.set_rng_state(st["torch"])
    np.random.set_state(st["numpy"])
    random.setstate(st["python"])
