#!/usr/bin/env python3
"""Evaluate a training checkpoint in PyTorch (fp32) on the held-out split (packages never trained on).

    python training/eval.py --checkpoint training/checkpoints/main/latest.pt \
        --out training/logs/eval-main.json

Reports:
  * bits per byte: every selected held-out document is scored whole, as in training
    (<|file_sep|>path\\n text <|endoftext|>), in windows of seq_len tokens with stride seq_len/2
    (each token scored once, with at least half a window of left context when the document is
    longer than a window). bpb = sum of the NLL (nats) of the text's tokens / the text's UTF-8
    bytes / ln 2 (the header and <|endoftext|> are excluded; `bpb_all_tokens` includes them).
    Documents are taken in a seeded order until --bpb-max-bytes of text.
  * single-line FIM on >= 500 samples (training/model/data.py single_line_fim_samples: one line per
    document whose content after the indentation has 4-80 characters and is not only brackets or
    punctuation; the cursor sits after the indentation). Prompt in the editor's SPM order
    <|fim_suffix|>suffix<|fim_prefix|>prefix<|fim_middle|> (prefix clipped to whole lines within
    1200 characters, suffix to 400; --fim-header prepends <|file_sep|>path\\n), greedy decoding with a
    KV cache until a newline, <|endoftext|> or --max-new-tokens. exact match: the generated line
    equals the masked line (trailing whitespace ignored); edit similarity: 1 - Levenshtein / max length.
  * expert load per MoE layer over the bpb tokens: share of routed slots per expert, coefficient of
    variation, MaxVio = (max - mean) / mean, min and max share in units of the fair share 1/E, and
    whether every expert stays within [1/4, 4] x fair share.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("RAYON_RS_NUM_CPUS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from model.checkpoint import load_checkpoint  # noqa: E402
from model.data import (  # noqa: E402
    IDX_TEXT_TOK_START,
    IDX_TOK_END,
    TokenFile,
    encode,
    header_ids,
    load_tokenizer,
    single_line_fim_samples,
)
from model.prompt import clip_context, spm_prompt  # noqa: E402
from model.qwen3moe import Qwen3MoeLM, count_params  # noqa: E402


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


@torch.no_grad()
def bits_per_byte(model: Qwen3MoeLM, tf: TokenFile, seq_len: int, max_bytes: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(tf))
    stride = seq_len // 2
    nll_text = nll_all = 0.0
    n_text = n_all = n_bytes = docs = 0
    E = model.cfg.num_experts
    counts = None if model.cfg.dense else torch.zeros(model.cfg.num_hidden_layers, E)
    for i in order:
        if n_bytes >= max_bytes:
            break
        ids = torch.from_numpy(tf.doc_tokens(int(i)).astype(np.int64))
        text_start = int(tf.idx[i, IDX_TEXT_TOK_START] - tf.idx[i, 0])
        text_end = int(tf.idx[i, IDX_TOK_END] - tf.idx[i, 0]) - 1  # the <|endoftext|> position
        n = len(ids)
        # targets ids[1..n-1]; window [s, s+seq_len] scores targets in (max(s, prev_end), s+seq_len]
        scored_to = 0  # targets with index <= scored_to are done (index 0 is never a target)
        s = 0
        while scored_to < n - 1:
            e = min(n, s + seq_len + 1)
            x = ids[s : e - 1][None]
            logits, routers = model(x)
            lp = F.cross_entropy(logits[0].float(), ids[s + 1 : e], reduction="none")
            tgt_idx = torch.arange(s + 1, e)
            keep = tgt_idx > scored_to
            lp, tgt_idx = lp[keep], tgt_idx[keep]
            is_text = (tgt_idx >= text_start) & (tgt_idx < text_end)
            nll_text += float(lp[is_text].sum())
            n_text += int(is_text.sum())
            nll_all += float(lp.sum())
            n_all += lp.numel()
            if counts is not None:
                new_pos = keep.nonzero()[:, 0]
                for l, (_z, _p, top_i) in enumerate(routers):
                    counts[l] += torch.bincount(top_i[new_pos].reshape(-1), minlength=E).float()
            scored_to = e - 1
            s = max(0, e - 1 - stride) if e < n else e
        n_bytes += int(tf.idx[i, 4])
        docs += 1
    out = {
        "bpb": nll_text / n_bytes / math.log(2),
        "bpb_all_tokens": nll_all / n_bytes / math.log(2),
        "loss_per_text_token": nll_text / max(1, n_text),
        "docs": docs,
        "text_bytes": n_bytes,
        "text_tokens": n_text,
        "bytes_per_token": n_bytes / max(1, n_text),
        "window": seq_len,
        "stride": stride,
    }
    if counts is not None:
        out["expert_load"] = expert_load(counts)
    return out


def expert_load(counts: torch.Tensor) -> dict:
    L, E = counts.shape
    shares = counts / counts.sum(1, keepdim=True)
    fair = 1.0 / E
    layers = []
    for l in range(L):
        s = shares[l]
        layers.append({
            "layer": l,
            "shares": [round(float(v), 4) for v in s],
            "cv": round(float(s.std(unbiased=False) / fair), 4),
            "maxvio": round(float((s.max() - fair) / fair), 4),
            "min_over_fair": round(float(s.min() / fair), 4),
            "max_over_fair": round(float(s.max() / fair), 4),
            "within_quarter_to_4x": bool(s.min() >= fair / 4 and s.max() <= 4 * fair),
        })
    return {
        "layers": layers,
        "routed_slots": int(counts.sum()),
        "max_cv": max(x["cv"] for x in layers),
        "max_maxvio": max(x["maxvio"] for x in layers),
        "all_within_quarter_to_4x": all(x["within_quarter_to_4x"] for x in layers),
    }


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def edit_similarity(a: str, b: str) -> float:
    if not a and not b:
        return 1.0
    return 1.0 - levenshtein(a, b) / max(len(a), len(b))


@torch.no_grad()
def greedy_line(model: Qwen3MoeLM, tok, sp: dict, ids: list[int], max_new: int) -> tuple[str, int, str]:
    eot = sp["<|endoftext|>"]
    logits, cache, _ = model.forward_cached(torch.tensor([ids]), None)
    out: list[int] = []
    stop = "max_tokens"
    for _ in range(max_new):
        nxt = int(logits[0, -1].argmax())
        if nxt == eot:
            stop = "eot"
            break
        out.append(nxt)
        text = tok.decode(out, skip_special_tokens=False)
        if "\n" in text:
            stop = "newline"
            break
        if len(ids) + len(out) >= model.cfg.max_position_embeddings:
            break
        logits, cache, _ = model.forward_cached(torch.tensor([[nxt]]), cache)
    text = tok.decode(out, skip_special_tokens=False)
    return text.split("\n", 1)[0], len(out), stop


def fim_eval(model: Qwen3MoeLM, tok, sp: dict, tf: TokenFile, n: int, seed: int, max_new: int,
             header: bool, seq_len: int, keep_examples: int = 40) -> dict:
    samples = single_line_fim_samples(tf, n, seed)
    em = 0
    es = 0.0
    stops: dict[str, int] = {}
    by_lang: dict[str, list] = {}
    examples = []
    t0 = time.time()
    for k, s in enumerate(samples):
        hdr = header_ids(tok, sp, s["path"]) if header else []
        ids, _ = spm_prompt(tok, sp, s["prefix"], s["suffix"], seq_len - max_new - len(hdr))
        ids = hdr + ids
        pred, ntok, stop = greedy_line(model, tok, sp, ids, max_new)
        target = s["middle"]
        hit = pred.rstrip() == target.rstrip()
        sim = edit_similarity(pred.rstrip(), target.rstrip())
        em += hit
        es += sim
        stops[stop] = stops.get(stop, 0) + 1
        by_lang.setdefault(s["language"] or "?", []).append((hit, sim))
        if len(examples) < keep_examples:
            examples.append({"path": s["path"], "target": target, "pred": pred, "exact": hit,
                             "edit_sim": round(sim, 3)})
        if (k + 1) % 100 == 0:
            log(f"fim {k + 1}/{len(samples)}: EM {em / (k + 1):.3f} ES {es / (k + 1):.3f} "
                f"({time.time() - t0:.0f}s)")
    m = len(samples)
    return {
        "samples": m,
        "exact_match": em / max(1, m),
        "edit_similarity": es / max(1, m),
        "stop_reasons": stops,
        "by_language": {k: {"n": len(v), "exact_match": sum(h for h, _ in v) / len(v),
                            "edit_similarity": sum(x for _, x in v) / len(v)} for k, v in sorted(by_lang.items())},
        "prompt": ("<|file_sep|>path\\n" if header else "") + "<|fim_suffix|>suffix<|fim_prefix|>prefix<|fim_middle|>",
        "max_new_tokens": max_new,
        "seconds": round(time.time() - t0, 1),
        "examples": examples,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=os.path.join(HERE, "checkpoints", "main", "latest.pt"))
    ap.add_argument("--data-dir", default=os.path.join(HERE, "data"))
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer", "tokenizer.json"))
    ap.add_argument("--split", default="valid")
    ap.add_argument("--bpb-max-bytes", type=float, default=2e6)
    ap.add_argument("--fim-samples", type=int, default=500)
    ap.add_argument("--fim-header", action="store_true", help="prepend <|file_sep|>path\\n to FIM prompts")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list of parts to skip: bpb,fim")
    ap.add_argument("--dump-fim-samples", default=None, metavar="JSONL",
                    help="write the FIM samples (prefix/suffix clipped as in the prompt) for "
                         "scripts/evalFim.ts, which runs them through the engine")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    skip = set(filter(None, args.skip.split(",")))

    model, ck = load_checkpoint(args.checkpoint)
    tok, sp = load_tokenizer(args.tokenizer)
    tf = TokenFile(args.data_dir, args.split)
    seq_len = model.cfg.max_position_embeddings
    res = {
        "checkpoint": os.path.relpath(args.checkpoint, os.path.dirname(HERE)),
        "run": ck.get("run"),
        "step": ck.get("step"),
        "tokens_seen": ck.get("tokens_seen"),
        "train_elapsed_s": ck.get("elapsed_s"),
        "params": count_params(model.cfg),
        "model_config": model.cfg.to_dict(),
        "split": args.split,
        "split_docs": len(tf),
        "command": " ".join([os.path.relpath(sys.argv[0], os.path.dirname(HERE))] + sys.argv[1:]),
        "torch": torch.__version__,
        "threads": args.threads,
    }
    if args.dump_fim_samples:
        with open(args.dump_fim_samples, "w") as f:
            for smp in single_line_fim_samples(tf, args.fim_samples, args.seed):
                pre, suf = clip_context(smp["prefix"], smp["suffix"])
                f.write(json.dumps({"path": smp["path"], "language": smp["language"], "prefix": pre,
                                    "middle": smp["middle"], "suffix": suf}) + "\n")
        log(f"wrote {args.fim_samples} FIM samples to {args.dump_fim_samples}")
        if {"bpb", "fim"} <= skip:
            return 0  # only the dump: no results file to (over)write
    if "bpb" not in skip:
        t0 = time.time()
        res["bpb"] = bits_per_byte(model, tf, seq_len, args.bpb_max_bytes, args.seed)
        res["bpb"]["seconds"] = round(time.time() - t0, 1)
        log(json.dumps({k: v for k, v in res["bpb"].items() if k != "expert_load"}))
    if "fim" not in skip:
        res["fim"] = fim_eval(model, tok, sp, tf, args.fim_samples, args.seed, args.max_new_tokens,
                              args.fim_header, seq_len)
        log(json.dumps({k: v for k, v in res["fim"].items() if k not in ("examples", "by_language")}))
    summary = {
        "bpb": res.get("bpb", {}).get("bpb"),
        "fim_exact_match": res.get("fim", {}).get("exact_match"),
        "fim_edit_similarity": res.get("fim", {}).get("edit_similarity"),
        "fim_samples": res.get("fim", {}).get("samples"),
        "expert_load_max_cv": res.get("bpb", {}).get("expert_load", {}).get("max_cv"),
        "expert_load_max_maxvio": res.get("bpb", {}).get("expert_load", {}).get("max_maxvio"),
        "expert_load_all_within": res.get("bpb", {}).get("expert_load", {}).get("all_within_quarter_to_4x"),
    }
    res["summary"] = summary
    out = args.out or os.path.join(HERE, "logs", f"eval-{ck.get('run', 'model')}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
