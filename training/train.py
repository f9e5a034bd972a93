#!/usr/bin/env python3
"""Train the MoE Lens default model (Qwen3-MoE-shaped) on this machine's CPU, resumably.

    # the main run (150 minutes in total, may be split over sessions; resumes automatically)
    /work/venv/bin/python training/train.py --config training/configs/main.json
    # the dense ablation: same script, a dense SwiGLU with the same active parameters
    /work/venv/bin/python training/train.py --config training/configs/ablation.json --dense
    # continued training from another run's checkpoint (weights + data position; fresh optimizer
    # and schedule; the run config may change the FIM rates under "fim", never the format)
    /work/venv/bin/python training/train.py --config training/configs/main-fim.json \
        --init-from training/checkpoints/main/latest.pt
    # v3: continued training at a longer context (the config's "model" key overrides the init
    # checkpoint's context length and RoPE base; "seq_schedule" = a short-then-long curriculum)
    /work/venv/bin/python training/train.py --config training/configs/v3.json \
        --init-from training/checkpoints/main-fim/latest.pt --set train.threads=1

Objective: next-token cross-entropy over packed 512-token windows in which half the documents are
FIM samples (PSM and SPM, training/configs/fim.json, applied on the fly) + router_aux_loss_coef x
Switch load-balancing loss + router_z_loss_coef x router z-loss; router jitter on the router input.

Schedule: warmup (steps) then warmup-stable-decay over the TOTAL budget: progress is the wall-clock
time spent in this run summed over all sessions (stored in the checkpoint) divided by
--budget-minutes, so a resumed run continues the same schedule; the LR decays to 0 over the last
`decay_frac` of the budget (1 - sqrt shape). The run stops when the budget is used.

Precision: "fp32", or "bf16" = bf16 weights/activations for the forward and backward with an fp32
master copy of the weights that AdamW updates (router softmax, norms, losses in fp32). Checkpoints
always hold the fp32 master weights.

Outputs (RUN = the config's run name, or --run):
  training/checkpoints/RUN/step_NNNNNN.pt (+ .optim.pt): every ckpt_every_min minutes, last two kept;
      latest.pt / latest.optim.pt are hard links to the newest. latest.pt = fp32 weights + configs +
      data-sampler position + RNG states + counters; latest.optim.pt = AdamW moments.
  training/logs/RUN.log: JSON lines (train, util, collapse warnings, eval, checkpoint events).
SIGTERM/SIGINT: checkpoint, then exit (resume later with the same command).
Exit status: 0 when the budget is used up, 10 when stopped earlier (signal, --session-minutes,
--max-steps), so a wrapper knows whether the run is finished.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import time

os.environ.setdefault("RAYON_RS_NUM_CPUS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from model.data import (  # noqa: E402
    FimConfig,
    PackedSampler,
    TokenFile,
    encode,
    load_tokenizer,
    single_line_fim_samples,
    token_byte_lengths,
)
from model.precision import Bf16Compute  # noqa: E402
from model.qwen3moe import ModelConfig, Qwen3MoeLM, count_params  # noqa: E402

DEFAULT_TRAIN = {
    "seed": 1234,
    "batch_size": 16,
    "seq_len": 512,
    "lr": 2e-3,
    "warmup_steps": 100,
    "decay_frac": 0.2,
    "min_lr_ratio": 0.0,
    "weight_decay": 0.1,
    "beta1": 0.9,
    "beta2": 0.95,
    "grad_clip": 1.0,
    "budget_minutes": 150,
    "precision": "bf16",
    "threads": 2,
    "compile": False,
    "log_every": 10,
    "util_every": 50,
    "ckpt_every_min": 10,
    "eval_every_min": 15,
    "eval_windows": 32,
    "eval_fim_samples": 96,
    # optional curriculum: [{"from": progress, "seq_len": T, "batch_size": B}, ...] (progress =
    # elapsed / budget, as for the LR); the window of each step follows the phase it falls in
    "seq_schedule": None,
    # fixed windows for the periodic eval: 0 = the model's context (max_position_embeddings)
    "eval_seq_len": 0,
    # held-out documents at least eval_seq_len long, scored from their start (loss by position)
    "eval_long_docs": 0,
}

# Model settings a continued-training run (--init-from) may change; everything else (shapes) must
# match the init checkpoint.
INIT_OVERRIDABLE = {"max_position_embeddings", "rope_theta", "router_aux_loss_coef", "router_z_loss_coef",
                    "router_jitter", "expert_impl"}
POS_BUCKETS = ((0, 512), (512, 1024), (1024, 2048), (2048, 4096), (4096, 8192))


def phase_at(progress: float, tc: dict) -> tuple[int, int]:
    """(batch_size, seq_len) of the step at this progress."""
    sched = tc.get("seq_schedule")
    if not sched:
        return int(tc["batch_size"]), int(tc["seq_len"])
    cur = sched[0]
    for ph in sched:
        if progress >= ph["from"]:
            cur = ph
    return int(cur["batch_size"]), int(cur["seq_len"])


def max_seq_len(tc: dict) -> int:
    return max([int(tc["seq_len"])] + [int(p["seq_len"]) for p in (tc.get("seq_schedule") or [])])


class Logger:
    def __init__(self, path: str):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.f = open(path, "a", buffering=1)

    def __call__(self, kind: str, **kw):
        rec = {"t": time.strftime("%Y-%m-%dT%H:%M:%S"), "kind": kind, **kw}
        line = json.dumps(rec, default=float)
        self.f.write(line + "\n")
        print(line, flush=True)


def lr_at(step: int, progress: float, tc: dict) -> float:
    peak = tc["lr"]
    warm = min(1.0, (step + 1) / max(1, tc["warmup_steps"]))
    d = tc["decay_frac"]
    if progress < 1.0 - d:
        f = 1.0
    else:
        x = min(1.0, (progress - (1.0 - d)) / d)
        f = 1.0 - math.sqrt(x)
    f = max(f, tc["min_lr_ratio"])
    return peak * warm * f


# ---- evaluation --------------------------------------------------------------------------------


class Evaluator:
    """Fixed held-out material: plain windows (loss, bits per byte) and single-line SPM FIM samples
    (mean loss of the middle + <|endoftext|>)."""

    def __init__(self, valid: TokenFile, tok, sp, seq_len: int, n_windows: int, n_fim: int, seed: int,
                 n_long: int = 0):
        self.sp = sp
        self.seq_len = seq_len
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(valid))
        need = n_windows * (seq_len + 1)
        chunks, have = [], 0
        for i in order:
            t = valid.doc_tokens(int(i))
            chunks.append(t)
            have += len(t)
            if have >= need:
                break
        stream = np.concatenate(chunks)[:need].astype(np.int64)
        self.windows = torch.from_numpy(stream.reshape(-1, seq_len + 1))
        self.byte_len = torch.from_numpy(token_byte_lengths(tok, tok.get_vocab_size()))
        # long documents (>= seq_len + 1 tokens), the first seq_len + 1 tokens of each (header
        # included): how the loss falls with position = how much of the context the model uses
        self.long = None
        if n_long:
            lens = valid.idx[:, 1] - valid.idx[:, 0]
            cand = [int(i) for i in np.random.default_rng(seed + 7).permutation(len(valid))
                    if lens[i] >= seq_len + 1][:n_long]
            if cand:
                self.long = torch.from_numpy(np.stack([valid.doc_tokens(i)[: seq_len + 1] for i in cand])
                                             .astype(np.int64))
        self.fim = []
        for s in single_line_fim_samples(valid, n_fim, seed + 1):
            ids, mid_start = spm_prompt(tok, sp, s["prefix"], s["suffix"], seq_len - 24)
            mid = encode(tok, s["middle"]) + [sp["<|endoftext|>"]]
            full = (ids + mid)[: seq_len]
            if len(full) > mid_start:
                self.fim.append((torch.tensor(full), len(ids)))

    @torch.no_grad()
    def run(self, model: Qwen3MoeLM) -> dict:
        was = model.training
        model.eval()
        nll = 0.0
        ntok = 0
        nbytes = 0
        for i in range(0, len(self.windows), 4):
            w = self.windows[i : i + 4]
            logits, _ = model(w[:, :-1])
            lp = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), w[:, 1:].reshape(-1),
                                 reduction="sum")
            nll += float(lp)
            ntok += w[:, 1:].numel()
            nbytes += int(self.byte_len[w[:, 1:]].sum())
        extra = {}
        if self.long is not None:
            nll_pos = torch.zeros(self.seq_len, dtype=torch.float64)
            byt_pos = torch.zeros(self.seq_len, dtype=torch.float64)
            for i in range(0, len(self.long), 4):
                w = self.long[i : i + 4]
                logits, _ = model(w[:, :-1])
                lp = F.cross_entropy(logits.transpose(1, 2).float(), w[:, 1:], reduction="none")
                nll_pos += lp.double().sum(0)
                byt_pos += self.byte_len[w[:, 1:]].double().sum(0)
            extra["long_docs"] = len(self.long)
            extra["long_bpb"] = float(nll_pos.sum() / byt_pos.sum()) / math.log(2)
            for a, b in POS_BUCKETS:
                if a < self.seq_len:
                    b = min(b, self.seq_len)
                    extra[f"long_bpb_{a}_{b}"] = float(nll_pos[a:b].sum() / byt_pos[a:b].sum()) / math.log(2)
        fim_nll = 0.0
        fim_tok = 0
        for ids, n_prompt in self.fim:
            logits, _ = model(ids[None, :-1])
            tgt = ids[1:]
            lp = F.cross_entropy(logits[0].float(), tgt, reduction="none")[n_prompt - 1 :]
            fim_nll += float(lp.sum())
            fim_tok += lp.numel()
        model.train(was)
        return {
            "val_loss": nll / ntok,
            "val_bpb": nll / nbytes / math.log(2),
            "val_tokens": ntok,
            "val_bytes_per_token": nbytes / ntok,
            "val_fim_middle_loss": fim_nll / max(1, fim_tok),
            "val_fim_samples": len(self.fim),
            "val_seq_len": self.windows.shape[1] - 1,
            **extra,
        }


def clip_context(prefix: str, suffix: str, prefix_chars: int = 1200, suffix_chars: int = 400) -> tuple[str, str]:
    """The prefix and suffix clipped to whole lines within the character windows."""
    if len(prefix) > prefix_chars:
        p = prefix[-prefix_chars:]
        nl = p.find("\n")
        prefix = p[nl + 1 :] if 0 <= nl < len(p) - 1 else p
    if len(suffix) > suffix_chars:
        s = suffix[:suffix_chars]
        nl = s.rfind("\n")
        suffix = s[: nl + 1] if nl > 0 else s
    return prefix, suffix


def spm_prompt(tok, sp, prefix: str, suffix: str, max_tokens: int, prefix_chars: int = 1200,
               suffix_chars: int = 400) -> tuple[list[int], int]:
    """<|fim_suffix|>suffix<|fim_prefix|>prefix<|fim_middle|>, prefix/suffix clipped to whole lines
    within the character windows, then (rarely) to max_tokens by dropping prefix tokens from the
    left. Returns the ids and their length."""
    prefix, suffix = clip_context(prefix, suffix, prefix_chars, suffix_chars)
    p_ids = encode(tok, prefix)
    s_ids = encode(tok, suffix)
    room = max_tokens - 3 - len(s_ids)
    if room < 16:
        s_ids = s_ids[: max(0, max_tokens // 3)]
        room = max_tokens - 3 - len(s_ids)
    p_ids = p_ids[-room:] if room > 0 else []
    ids = [sp["<|fim_suffix|>"]] + s_ids + [sp["<|fim_prefix|>"]] + p_ids + [sp["<|fim_middle|>"]]
    return ids, len(ids)


# ---- expert utilisation ------------------------------------------------------------------------


def util_report(counts: torch.Tensor) -> tuple[dict, list[dict]]:
    """counts [L, E] routed slots over a window of steps -> shares, CV and MaxVio per layer, and
    collapse warnings (share < 1/(4E) or > 4/E)."""
    L, E = counts.shape
    shares = counts / counts.sum(1, keepdim=True).clamp_min(1)
    mean = 1.0 / E
    cv = (shares.std(1, unbiased=False) / mean).tolist()
    maxvio = ((shares.max(1).values - mean) / mean).tolist()
    warns = []
    for l in range(L):
        for e in range(E):
            s = float(shares[l, e])
            if s < 1 / (4 * E) or s > 4 / E:
                warns.append({"layer": l, "expert": e, "share": round(s, 4),
                              "fair": round(mean, 4), "kind": "starved" if s < mean else "hot"})
    rep = {
        "shares": [[round(float(v), 4) for v in row] for row in shares],
        "cv": [round(v, 4) for v in cv],
        "maxvio": [round(v, 4) for v in maxvio],
    }
    return rep, warns


# ---- checkpoints -------------------------------------------------------------------------------


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


# ---- main --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=os.path.join(HERE, "configs", "main.json"))
    ap.add_argument("--run", default=None, help="run name (checkpoint dir and log name)")
    ap.add_argument("--dense", action="store_true", help="dense ablation: FFN width = top_k x expert width")
    ap.add_argument("--budget-minutes", type=float, default=None,
                    help="TOTAL wall-clock budget of the run over all sessions (defines the LR schedule)")
    ap.add_argument("--session-minutes", type=float, default=None,
                    help="stop (with a checkpoint) after this many minutes in this session")
    ap.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke tests)")
    ap.add_argument("--data-dir", default=os.path.join(HERE, "data"))
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer", "tokenizer.json"))
    ap.add_argument("--fim-config", default=os.path.join(HERE, "configs", "fim.json"))
    ap.add_argument("--checkpoint-dir", default=os.path.join(HERE, "checkpoints"))
    ap.add_argument("--log-dir", default=os.path.join(HERE, "logs"))
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint of this run")
    ap.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                    help="start this run from another run's checkpoint: its weights, model config and "
                         "data-sampler position (so the data continues with documents it has not seen); "
                         "fresh optimizer, step counter and LR schedule (a continued-training phase)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a train.* or model.* config value (JSON value), e.g. --set train.lr=1e-3")
    args = ap.parse_args(argv)

    conf = json.load(open(args.config))
    tc = {**DEFAULT_TRAIN, **conf.get("train", {})}
    mc = dict(conf.get("model", {}))
    for kv in args.set:
        k, v = kv.split("=", 1)
        sect, key = k.split(".", 1)
        (tc if sect == "train" else mc)[key] = json.loads(v)
    if args.budget_minutes is not None:
        tc["budget_minutes"] = args.budget_minutes
    run = args.run or conf.get("run") or os.path.splitext(os.path.basename(args.config))[0]
    if args.dense:
        mc["dense"] = True
        if not args.run:
            run = run[: -len("-moe")] + "-dense" if run.endswith("-moe") else run + "-dense"
    torch.set_num_threads(int(tc["threads"]))
    log = Logger(os.path.join(args.log_dir, f"{run}.log"))
    ck_dir = os.path.join(args.checkpoint_dir, run)

    tok, sp = load_tokenizer(args.tokenizer)
    mc["vocab_size"] = tok.get_vocab_size()
    mc.setdefault("max_position_embeddings", tc["seq_len"])
    mc["eos_token_id"] = sp["<|endoftext|>"]
    mc["pad_token_id"] = sp["<|pad|>"]

    resume = None
    latest = os.path.join(ck_dir, "latest.pt")
    if os.path.exists(latest) and not args.fresh:
        resume = torch.load(latest, map_location="cpu", weights_only=False)
        mc = resume["model_config"]
        tc = {**resume["train_config"], **{k: tc[k] for k in ("budget_minutes", "threads", "log_every",
                                                              "util_every", "ckpt_every_min",
                                                              "eval_every_min")}}
        torch.set_num_threads(int(tc["threads"]))

    init = None
    init_overrides = {}
    if resume is None and args.init_from:
        init = torch.load(args.init_from, map_location="cpu", weights_only=False)
        # the run config's "model" key and --set model.* may change the context length and RoPE
        # base (a longer-context phase) and the router regularisers; shapes come from the checkpoint
        asked = {**conf.get("model", {}),
                 **{k.split(".", 1)[1]: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.set)
                    if k.startswith("model.")}}
        mc = dict(init["model_config"])
        for k, v in asked.items():
            if k in INIT_OVERRIDABLE:
                if mc.get(k) != v:
                    init_overrides[k] = {"from": mc.get(k), "to": v}
                mc[k] = v
            elif k in mc and mc[k] != v:
                raise SystemExit(f"--init-from: model.{k}={v!r} differs from the checkpoint's {mc[k]!r} "
                                 f"(only {sorted(INIT_OVERRIDABLE)} may change)")
    if mc.get("max_position_embeddings", 0) < max_seq_len(tc):
        if init is not None or resume is not None:
            raise SystemExit(f"seq_len {max_seq_len(tc)} exceeds the model context "
                             f"{mc.get('max_position_embeddings')}: set model.max_position_embeddings")
        mc["max_position_embeddings"] = max_seq_len(tc)

    cfg = ModelConfig.from_dict(mc)
    seed = int(tc["seed"])
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    master = Qwen3MoeLM(cfg)  # fp32 weights: what AdamW updates, what checkpoints hold
    bf16 = tc["precision"] == "bf16"
    master.train()
    shadow = Bf16Compute(master).train() if bf16 else None
    compute = shadow.model if bf16 else master
    decay, no_decay = [], []
    for n, p in master.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": tc["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=tc["lr"], betas=(tc["beta1"], tc["beta2"]), eps=1e-8, fused=True,
    )
    m_params = list(master.parameters())

    train_tf = TokenFile(args.data_dir, "train")
    valid_tf = TokenFile(args.data_dir, "valid")
    fim = FimConfig.load(args.fim_config)
    for k, v in conf.get("fim", {}).items():  # a run may change the rates, never the format
        if not hasattr(fim, k):
            raise SystemExit(f"{args.config}: unknown fim setting {k!r}")
        setattr(fim, k, v)
    sampler = PackedSampler(train_tf, tok, sp, fim, tc["seq_len"] + 1, seed)
    eval_len = int(tc.get("eval_seq_len") or 0) or (cfg.max_position_embeddings if tc.get("seq_schedule")
                                                      or init_overrides else tc["seq_len"])
    evaluator = Evaluator(valid_tf, tok, sp, eval_len, tc["eval_windows"], tc["eval_fim_samples"], seed,
                          n_long=int(tc.get("eval_long_docs") or 0))

    step = 0
    tokens_seen = 0
    elapsed = 0.0
    last_eval = None
    if resume is not None:
        master.load_state_dict(resume["model"])
        optp = latest[: -len(".pt")] + ".optim.pt"
        if os.path.exists(optp):
            opt.load_state_dict(torch.load(optp, map_location="cpu", weights_only=False))
        else:
            log("warn", msg="no optimizer state next to latest.pt; resuming with fresh AdamW moments")
        sampler.load_state_dict(resume["sampler"])
        set_rng_state(resume["rng"])
        step, tokens_seen, elapsed = resume["step"], resume["tokens_seen"], resume["elapsed_s"]
        last_eval = resume.get("last_eval")
        if bf16:
            shadow.sync()
        log("resume", step=step, tokens_seen=tokens_seen, elapsed_s=round(elapsed, 1), checkpoint=latest)
        del resume
    elif init is not None:
        master.load_state_dict(init["model"])
        sampler.load_state_dict(init["sampler"])
        if bf16:
            shadow.sync()
        log("init_from", checkpoint=os.path.relpath(args.init_from, os.path.dirname(HERE)), run=init.get("run"),
            step=init.get("step"), tokens_seen=init.get("tokens_seen"), model_overrides=init_overrides)
        tc["init_from"] = {"checkpoint": os.path.relpath(args.init_from, os.path.dirname(HERE)),
                           "run": init.get("run"), "step": init.get("step"), "tokens_seen": init.get("tokens_seen"),
                           "model_overrides": init_overrides}
        del init

    budget_s = tc["budget_minutes"] * 60.0
    params = count_params(cfg)
    log("start", run=run, model=cfg.to_dict(), train=tc, params=params,
        train_docs=len(train_tf), train_tokens=int(len(train_tf.tokens)), valid_docs=len(valid_tf),
        fim=fim.__dict__, torch=torch.__version__, threads=torch.get_num_threads(),
        eval_fim_samples=len(evaluator.fim), eval_seq_len=eval_len)

    loss_fn = compute.loss
    if tc.get("compile"):
        loss_fn = torch.compile(compute.loss, dynamic=False)

    stop = {"flag": None}

    def on_signal(signum, _frame):
        stop["flag"] = signal.Signals(signum).name

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def checkpoint(reason: str):
        state = {
            "model": master.state_dict(),
            "model_config": cfg.to_dict(),
            "train_config": tc,
            "sampler": sampler.state_dict(),
            "rng": rng_state(),
            "step": step,
            "tokens_seen": tokens_seen,
            "elapsed_s": elapsed,
            "last_eval": last_eval,
            "args": vars(args),
            "run": run,
            "versions": {"torch": torch.__version__},
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        info = save_checkpoint(ck_dir, state, opt.state_dict())
        log("checkpoint", reason=reason, step=step, **info)

    def evaluate():
        nonlocal last_eval
        t0 = time.time()
        r = evaluator.run(master)
        r.update(step=step, tokens_seen=tokens_seen, elapsed_s=round(elapsed, 1), eval_s=round(time.time() - t0, 1))
        last_eval = r
        log("eval", **r)

    session_start = time.time()
    seg_start = time.time()  # elapsed is accumulated from here
    last_ckpt = time.time()
    last_eval_t = time.time()
    win_counts = None
    acc = {"loss": 0.0, "ce": 0.0, "aux": 0.0, "z": 0.0, "n": 0, "tok": 0, "t0": time.time(), "gn": 0.0}
    B, T = phase_at(elapsed / budget_s, tc)
    sampler.set_window(T + 1)
    if last_eval is None and step == 0:
        evaluate()
    while True:
        now = time.time()
        elapsed += now - seg_start
        seg_start = now
        reason = None
        if elapsed >= budget_s:
            reason = "budget"
        elif stop["flag"]:
            reason = stop["flag"]
        elif args.session_minutes and now - session_start >= args.session_minutes * 60:
            reason = "session"
        elif args.max_steps is not None and step >= args.max_steps:
            reason = "max_steps"
        if reason:
            if reason in ("budget", "max_steps"):
                evaluate()
            checkpoint(reason)
            log("stop", reason=reason, step=step, tokens_seen=tokens_seen, elapsed_s=round(elapsed, 1))
            return 0 if reason == "budget" else 10

        nb, nt = phase_at(elapsed / budget_s, tc)
        if (nb, nt) != (B, T):
            B, T = nb, nt
            sampler.set_window(T + 1)
            acc = {"loss": 0.0, "ce": 0.0, "aux": 0.0, "z": 0.0, "n": 0, "tok": 0, "t0": time.time(), "gn": 0.0}
            log("phase", step=step, batch_size=B, seq_len=T, progress=round(elapsed / budget_s, 4))
        lr = lr_at(step, elapsed / budget_s, tc)
        for g in opt.param_groups:
            g["lr"] = lr
        batch = torch.from_numpy(sampler.batch(B))
        out = loss_fn(batch[:, :-1], batch[:, 1:])
        out["loss"].backward()
        if bf16:
            shadow.grads_to_master()
        gn = float(torch.nn.utils.clip_grad_norm_(m_params, tc["grad_clip"]))
        opt.step()
        opt.zero_grad(set_to_none=True)
        if bf16:
            shadow.sync()
        step += 1
        tokens_seen += B * T
        acc["n"] += 1
        acc["tok"] += B * T
        acc["gn"] += gn
        for k in ("loss", "ce", "aux", "z"):
            if k in out:
                acc[k] += float(out[k].detach())
        if "counts" in out:
            win_counts = out["counts"] if win_counts is None else win_counts + out["counts"]

        if step % tc["log_every"] == 0:
            dt = time.time() - acc["t0"]
            n = acc["n"]
            rec = {"step": step, "tokens_seen": tokens_seen, "lr": lr, "loss": acc["loss"] / n,
                   "ce": acc["ce"] / n, "grad_norm": acc["gn"] / n, "tok_per_s": acc["tok"] / dt,
                   "elapsed_s": round(elapsed, 1), "progress": round(elapsed / budget_s, 4),
                   "seq_len": T, "batch_size": B}
            if not cfg.dense:
                rec.update(aux=acc["aux"] / n, z=acc["z"] / n)
            log("train", **rec)
            acc = {"loss": 0.0, "ce": 0.0, "aux": 0.0, "z": 0.0, "n": 0, "tok": 0, "t0": time.time(), "gn": 0.0}
        if win_counts is not None and step % tc["util_every"] == 0:
            rep, warns = util_report(win_counts)
            log("util", step=step, window_steps=tc["util_every"], **rep)
            if warns:
                log("collapse_warning", step=step, experts=warns)
            win_counts = None
        if time.time() - last_eval_t >= tc["eval_every_min"] * 60:
            evaluate()
            last_eval_t = time.time()
        if time.time() - last_ckpt >= tc["ckpt_every_min"] * 60:
            checkpoint("periodic")
            last_ckpt = time.time()


if __name__ == "__main__":
    sys.exit(main())
