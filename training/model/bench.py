#!/usr/bin/env python3
"""Training-throughput measurements for candidate model sizes (random tokens, full training step:
forward, loss with router losses, backward, grad clip, AdamW).

    python training/model/bench.py --threads 2 --variants fp32-grouped,bf16-grouped \
        --sizes s256,m384 --steps 3 --batch 8

Prints one JSON line per (size, variant): tokens/s (median step), seconds per step, parameters.
Results of the runs behind the chosen configuration: training/logs/bench-throughput.jsonl and
the "Model training" section of training/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from model.precision import Bf16Compute  # noqa: E402
from model.qwen3moe import ModelConfig, Qwen3MoeLM, count_params  # noqa: E402

SIZES = {
    # name: (hidden, layers, heads, kv heads, experts, expert FFN)
    "s256": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                 num_experts=8, moe_intermediate_size=512),
    "m384": dict(hidden_size=384, num_hidden_layers=4, num_attention_heads=6, num_key_value_heads=2,
                 num_experts=8, moe_intermediate_size=512),
    "m384e16": dict(hidden_size=384, num_hidden_layers=4, num_attention_heads=6, num_key_value_heads=2,
                    num_experts=16, moe_intermediate_size=256),
    "l384x6": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=2,
                   num_experts=8, moe_intermediate_size=512),
    "s256e16": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                    num_experts=16, moe_intermediate_size=256),
    "m320": dict(hidden_size=320, num_hidden_layers=4, num_attention_heads=5, num_key_value_heads=1,
                 num_experts=8, moe_intermediate_size=512),
    "m512": dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=2,
                 num_experts=8, moe_intermediate_size=512),
}


def run(size: str, variant: str, args) -> dict:
    """variant = PREC-IMPL[-compile]; PREC fp32 (fp32 weights and maths), amp (fp32 weights, bf16
    autocast) or bf16 (bf16 compute copy + fp32 master weights updated by AdamW, as train.py does);
    IMPL loop or grouped (expert kernel)."""
    prec, impl = variant.split("-")[:2]
    comp = variant.endswith("-compile")
    torch.manual_seed(0)
    sz = dict(SIZES[size])
    cfg = ModelConfig(vocab_size=args.vocab, head_dim=64, expert_impl=impl, dense=args.dense,
                      max_position_embeddings=args.seq, **sz)
    if args.dense:
        cfg.intermediate_size = cfg.num_experts_per_tok * cfg.moe_intermediate_size
    master = Qwen3MoeLM(cfg)
    master.train()
    shadow = Bf16Compute(master).train() if prec == "bf16" else None
    compute = shadow.model if shadow else master
    mp = list(master.parameters())
    opt = torch.optim.AdamW(mp, lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    ids = torch.randint(0, cfg.vocab_size, (args.batch, args.seq + 1))
    x, y = ids[:, :-1], ids[:, 1:]
    loss_fn = compute.loss
    if comp:
        loss_fn = torch.compile(compute.loss, dynamic=False)
    times = []
    t_first = None
    for i in range(args.steps + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "amp"):
            out = loss_fn(x, y)
        out["loss"].backward()
        if shadow:
            shadow.grads_to_master()
        torch.nn.utils.clip_grad_norm_(mp, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if shadow:
            shadow.sync()
        dt = time.perf_counter() - t0
        if i == 0:
            t_first = dt
        else:
            times.append(dt)
    med = statistics.median(times)
    p = count_params(cfg)
    return {
        "size": size, "variant": variant, "threads": torch.get_num_threads(), "batch": args.batch,
        "seq": args.seq, "vocab": cfg.vocab_size, "dense": args.dense,
        "tokens_per_s": round(args.batch * args.seq / med, 1), "s_per_step": round(med, 3),
        "step_times": [round(t, 2) for t in times], "first_step_s": round(t_first, 2),
        "params_total_M": round(p["total"] / 1e6, 2), "params_active_M": round(p["active"] / 1e6, 2),
        "loss": round(float(out["loss"].detach()), 3), "loadavg_1m": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", default="m384")
    ap.add_argument("--variants", default="fp32-loop")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=12288)
    ap.add_argument("--dense", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for size in args.sizes.split(","):
        for variant in args.variants.split(","):
            try:
                print(json.dumps(run(size, variant, args)), flush=True)
            except Exception as e:  # noqa: BLE001 - report and continue
                print(json.dumps({"size": size, "variant": variant, "error": repr(e)[:300]}), flush=True)


if __name__ == "__main__":
    main()
