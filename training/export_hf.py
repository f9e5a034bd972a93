#!/usr/bin/env python3
"""Export a training checkpoint to a Hugging Face Qwen3MoeForCausalLM folder and verify it.

    python training/export_hf.py --checkpoint training/checkpoints/latest.pt \
        --out training/export/moe-lens-code-v1

Writes into --out:
  model.safetensors      fp32 weights in hub naming (model.layers.{i}.mlp.experts.{e}.{gate,up,down}_proj.weight,
                         no lm_head.weight when the embedding is tied)
  config.json            Qwen3MoeForCausalLM config, hub spelling (num_experts, rope_parameters)
  generation_config.json eos = <|endoftext|>
  tokenizer.json, tokenizer_config.json (copied from training/tokenizer/ when present)
  moe_lens_training.json the FIM format (fim_order "spm", rates) and the training run's facts, for
                         the converter's manifest

Verification (always run unless --no-verify): transformers loads the folder with
Qwen3MoeForCausalLM.from_pretrained (fp32, eager attention, eager experts), and its logits on a batch
of real tokens (or random ones) are compared with this repository's model: max |diff| must be
< 1e-4, and the top-k expert sets of every token x layer must agree except at near-ties.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from model.checkpoint import load_checkpoint  # noqa: E402
from model.qwen3moe import Qwen3MoeLM, count_params  # noqa: E402

FIM_JSON = os.path.join(HERE, "configs", "fim.json")
TOKENIZER_DIR = os.path.join(HERE, "tokenizer")


def write_export(model: Qwen3MoeLM, ck: dict, out: str) -> None:
    from safetensors.torch import save_file

    os.makedirs(out, exist_ok=True)
    sd = model.hub_state_dict()
    save_file(dict(sorted(sd.items())), os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(model.hf_config(), f, indent=2)
        f.write("\n")
    eos = model.cfg.eos_token_id
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"eos_token_id": eos, "bos_token_id": model.cfg.bos_token_id,
                   "pad_token_id": model.cfg.pad_token_id, "do_sample": False}, f, indent=2)
        f.write("\n")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        src = os.path.join(TOKENIZER_DIR, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(out, name))
    fim = json.load(open(FIM_JSON)) if os.path.exists(FIM_JSON) else {}
    facts = {
        "fim": fim,
        "params": count_params(model.cfg),
        "model_config": model.cfg.to_dict(),
        "train": {k: ck.get(k) for k in ("step", "tokens_seen", "elapsed_s", "args")},
        "last_eval": ck.get("last_eval"),
    }
    with open(os.path.join(out, "moe_lens_training.json"), "w") as f:
        json.dump(facts, f, indent=2, default=str)
        f.write("\n")


def verification_batch(vocab: int, data_bin: str | None, n: int = 2, t: int = 128) -> torch.Tensor:
    if data_bin and os.path.exists(data_bin):
        arr = np.memmap(data_bin, dtype=np.uint16, mode="r")
        rng = np.random.default_rng(0)
        starts = rng.integers(0, len(arr) - t - 1, size=n)
        return torch.from_numpy(np.stack([arr[s : s + t].astype(np.int64) for s in starts]))
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, vocab, (n, t), generator=g)


@torch.no_grad()
def verify(model: Qwen3MoeLM, out: str, ids: torch.Tensor, tol: float = 1e-4) -> dict:
    from transformers import Qwen3MoeForCausalLM

    ref = Qwen3MoeForCausalLM.from_pretrained(
        out, dtype=torch.float32, attn_implementation="eager", experts_implementation="eager"
    )
    ref.eval()
    # Every stored tensor must have been loaded (nothing missing, nothing left at init).
    ref_sd = ref.state_dict()
    mine = model.state_dict()
    loaded = 0
    for k, v in mine.items():
        if k in ref_sd:
            assert torch.equal(ref_sd[k].float(), v.float()), f"{k} differs after reload"
            loaded += 1
    model.eval()
    logits, routers = model(ids)
    r = ref(input_ids=ids, use_cache=False, output_router_logits=not model.cfg.dense)
    diff = (logits - r.logits).abs().max().item()
    # Routing: top-k sets per token x layer; a disagreement counts only when our margin is clear.
    agree = total = close = 0
    k = model.cfg.num_experts_per_tok
    if not model.cfg.dense:
        for (z, probs, top_i), z_ref in zip(routers, r.router_logits):
            p_ref = torch.softmax(z_ref.float(), -1)
            ref_i = torch.topk(p_ref, k, -1).indices
            same = (torch.sort(top_i, -1).values == torch.sort(ref_i, -1).values).all(-1)
            s = torch.sort(probs, -1, descending=True).values
            near_tie = (s[:, k - 1] - s[:, k]) < 1e-5
            agree += int(same.sum())
            close += int((~same & near_tie).sum())
            total += same.numel()
    # Greedy continuation with transformers' KV cache must match our full-recompute argmax.
    prompt = ids[:1, :32]
    gen = ref.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                       max_new_tokens=16, min_new_tokens=16, pad_token_id=0)[0, 32:].tolist()
    cur = prompt.clone()
    mine_gen = []
    for _ in range(16):
        nxt = int(model(cur)[0][0, -1].argmax())
        mine_gen.append(nxt)
        cur = torch.cat([cur, torch.tensor([[nxt]])], 1)
    res = {
        "max_abs_logit_diff": diff,
        "tolerance": tol,
        "tensors_compared": loaded,
        "routing_sets_agree": agree,
        "routing_sets_total": total,
        "routing_disagree_at_near_ties": close,
        "greedy_16_agree": gen == mine_gen,
        "batch_shape": list(ids.shape),
        "ok": diff < tol and agree + close == total and gen == mine_gen,
    }
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=os.path.join(HERE, "checkpoints", "latest.pt"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--data-bin", default=os.path.join(HERE, "data", "valid.bin"),
                    help="token file for the verification batch (random ids if absent)")
    ap.add_argument("--no-verify", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    model, ck = load_checkpoint(args.checkpoint)
    write_export(model, ck, args.out)
    print(json.dumps({"out": args.out, "files": {f: os.path.getsize(os.path.join(args.out, f))
                                                 for f in sorted(os.listdir(args.out))}}))
    if args.no_verify:
        return 0
    ids = verification_batch(model.cfg.vocab_size, args.data_bin)
    res = verify(model, args.out, ids)
    with open(os.path.join(args.out, "verification.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(json.dumps(res))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
