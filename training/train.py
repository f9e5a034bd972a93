#!/usr/bin/env python3
"""Train the MoE Lens default model (Qwen3-MoE-shaped) on this machine's CPU, resumably.

    # the main run (150 minutes in total, may be split over sessions; resumes automatically)
    python training/train.py --config training/configs/main.json
    # the dense ablation: same script, a dense SwiGLU with the same active parameters
    python training/train.py --config training/configs/ablation.json --dense
    # continued training from another run's checkpoint (weights + data position; fresh optimizer
    # and schedule; the run config may change the FIM rates under "fim", never the format)
    python training/train.py --config training/configs/main-fim.json \
        --init-from training/checkpoints/main/latest.pt
    # v3: continued training at a longer context (the config's "model" key overrides the init
    # checkpoint's context length and RoPE base; "seq_schedule" = a short-then-long curriculum)
    python training/train.py --config training/configs/v3.json \
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

# (clip_context, save_checkpoint, rng_state, set_rng_state: also importable from train, as before)
from model.checkpoint import (  # noqa: E402,F401
    optim_path,
    read_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
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
from model.prompt import clip_context, spm_prompt  # noqa: E402,F401
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


# ---- setting up a run --------------------------------------------------------------------------

# Settings a resumed run takes from this session's config/command line rather than from its
# checkpoint (everything else in train_config comes from the checkpoint).
RESUME_SESSION_KEYS = ("budget_minutes", "threads", "log_every", "util_every", "ckpt_every_min", "eval_every_min")


def parse_args(argv=None) -> argparse.Namespace:
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
    return ap.parse_args(argv)


def run_config(args: argparse.Namespace) -> tuple[dict, dict, dict, str]:
    """The config file with --set, --budget-minutes and --dense applied: (the file's contents, train
    settings, model settings, run name)."""
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
    return conf, tc, mc, run


def add_tokenizer_ids(mc: dict, tc: dict, tok, sp: dict) -> None:
    """The vocabulary size and special ids come from the tokenizer; the context defaults to seq_len."""
    mc["vocab_size"] = tok.get_vocab_size()
    mc.setdefault("max_position_embeddings", tc["seq_len"])
    mc["eos_token_id"] = sp["<|endoftext|>"]
    mc["pad_token_id"] = sp["<|pad|>"]


def read_resume(latest: str, fresh: bool, mc: dict, tc: dict) -> tuple[dict | None, dict, dict]:
    """This run's latest.pt, unless --fresh or absent: (checkpoint, its model config, its train config
    with this session's RESUME_SESSION_KEYS). Else (None, mc, tc) unchanged."""
    if not (os.path.exists(latest) and not fresh):
        return None, mc, tc
    resume = read_checkpoint(latest)
    mc = resume["model_config"]
    tc = {**resume["train_config"], **{k: tc[k] for k in RESUME_SESSION_KEYS}}
    torch.set_num_threads(int(tc["threads"]))
    return resume, mc, tc


def read_init(init_from: str, conf: dict, overrides: list[str]) -> tuple[dict, dict, dict]:
    """--init-from: (the checkpoint, its model config with the allowed overrides applied, the
    overrides as {key: {"from", "to"}}). The run config's "model" key and --set model.* may change
    the context length and RoPE base (a longer-context phase) and the router regularisers; shapes
    come from the checkpoint."""
    init = read_checkpoint(init_from)
    init_overrides = {}
    asked = {**conf.get("model", {}),
             **{k.split(".", 1)[1]: json.loads(v) for k, v in (kv.split("=", 1) for kv in overrides)
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
    return init, mc, init_overrides


def fit_context(mc: dict, tc: dict, continued: bool) -> None:
    """A new model's context grows to the longest training window; a continued one must already fit."""
    if mc.get("max_position_embeddings", 0) < max_seq_len(tc):
        if continued:
            raise SystemExit(f"seq_len {max_seq_len(tc)} exceeds the model context "
                             f"{mc.get('max_position_embeddings')}: set model.max_position_embeddings")
        mc["max_position_embeddings"] = max_seq_len(tc)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(cfg: ModelConfig, tc: dict) -> tuple[Qwen3MoeLM, Bf16Compute | None]:
    """The fp32 master weights (what AdamW updates, what checkpoints hold) and, for bf16, the bf16
    compute copy. Both draw their initial weights from torch's RNG, in this order."""
    master = Qwen3MoeLM(cfg)
    bf16 = tc["precision"] == "bf16"
    master.train()
    shadow = Bf16Compute(master).train() if bf16 else None
    return master, shadow


def make_optimizer(master: Qwen3MoeLM, tc: dict) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices (dim >= 2) only."""
    decay, no_decay = [], []
    for n, p in master.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": tc["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=tc["lr"], betas=(tc["beta1"], tc["beta2"]), eps=1e-8, fused=True,
    )


def make_data(args: argparse.Namespace, conf: dict, tc: dict, tok, sp: dict,
              seed: int) -> tuple[TokenFile, TokenFile, FimConfig, PackedSampler]:
    """The token files, the FIM settings (a run may change the rates, never the format) and the
    training sampler."""
    train_tf = TokenFile(args.data_dir, "train")
    valid_tf = TokenFile(args.data_dir, "valid")
    fim = FimConfig.load(args.fim_config)
    for k, v in conf.get("fim", {}).items():
        if not hasattr(fim, k):
            raise SystemExit(f"{args.config}: unknown fim setting {k!r}")
        setattr(fim, k, v)
    sampler = PackedSampler(train_tf, tok, sp, fim, tc["seq_len"] + 1, seed)
    return train_tf, valid_tf, fim, sampler


def make_evaluator(valid_tf: TokenFile, tok, sp: dict, cfg: ModelConfig, tc: dict, seed: int,
                   init_overrides: dict) -> tuple[Evaluator, int]:
    """The periodic eval at eval_seq_len, else at the model's context for a curriculum or a changed
    context, else at seq_len."""
    eval_len = int(tc.get("eval_seq_len") or 0) or (cfg.max_position_embeddings if tc.get("seq_schedule")
                                                      or init_overrides else tc["seq_len"])
    evaluator = Evaluator(valid_tf, tok, sp, eval_len, tc["eval_windows"], tc["eval_fim_samples"], seed,
                          n_long=int(tc.get("eval_long_docs") or 0))
    return evaluator, eval_len


# ---- a run in progress -------------------------------------------------------------------------


class Training:
    """What the loop works on: the model (fp32 master + optional bf16 compute copy), the optimizer,
    the sampler and the evaluator, and the counters a checkpoint carries (step, tokens_seen,
    elapsed, last_eval)."""

    def __init__(self, args, run: str, log: Logger, ck_dir: str, cfg: ModelConfig, tc: dict,
                 master: Qwen3MoeLM, shadow: Bf16Compute | None, opt, sampler: PackedSampler,
                 evaluator: Evaluator):
        self.args, self.run, self.log, self.ck_dir = args, run, log, ck_dir
        self.cfg, self.tc = cfg, tc
        self.master, self.shadow, self.opt = master, shadow, opt
        self.bf16 = shadow is not None
        self.compute = shadow.model if self.bf16 else master
        self.m_params = list(master.parameters())
        self.sampler, self.evaluator = sampler, evaluator
        self.step = 0
        self.tokens_seen = 0
        self.elapsed = 0.0
        self.last_eval = None

    def resume(self, resume: dict, latest: str) -> None:
        """Continue this run from its latest.pt: weights, AdamW moments (when latest.optim.pt is
        there), sampler position, RNG states, counters."""
        self.master.load_state_dict(resume["model"])
        optp = optim_path(latest)
        if os.path.exists(optp):
            self.opt.load_state_dict(read_checkpoint(optp))
        else:
            self.log("warn", msg="no optimizer state next to latest.pt; resuming with fresh AdamW moments")
        self.sampler.load_state_dict(resume["sampler"])
        set_rng_state(resume["rng"])
        self.step, self.tokens_seen, self.elapsed = resume["step"], resume["tokens_seen"], resume["elapsed_s"]
        self.last_eval = resume.get("last_eval")
        if self.bf16:
            self.shadow.sync()
        self.log("resume", step=self.step, tokens_seen=self.tokens_seen, elapsed_s=round(self.elapsed, 1),
                 checkpoint=latest)

    def init_from(self, init: dict, init_from: str, init_overrides: dict) -> None:
        """Start from another run's checkpoint: its weights and sampler position (fresh optimizer,
        counters, schedule); recorded in train_config["init_from"]."""
        self.master.load_state_dict(init["model"])
        self.sampler.load_state_dict(init["sampler"])
        if self.bf16:
            self.shadow.sync()
        self.log("init_from", checkpoint=os.path.relpath(init_from, os.path.dirname(HERE)), run=init.get("run"),
                 step=init.get("step"), tokens_seen=init.get("tokens_seen"), model_overrides=init_overrides)
        self.tc["init_from"] = {"checkpoint": os.path.relpath(init_from, os.path.dirname(HERE)),
                                "run": init.get("run"), "step": init.get("step"),
                                "tokens_seen": init.get("tokens_seen"), "model_overrides": init_overrides}

    def checkpoint(self, reason: str) -> None:
        state = {
            "model": self.master.state_dict(),
            "model_config": self.cfg.to_dict(),
            "train_config": self.tc,
            "sampler": self.sampler.state_dict(),
            "rng": rng_state(),
            "step": self.step,
            "tokens_seen": self.tokens_seen,
            "elapsed_s": self.elapsed,
            "last_eval": self.last_eval,
            "args": vars(self.args),
            "run": self.run,
            "versions": {"torch": torch.__version__},
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        info = save_checkpoint(self.ck_dir, state, self.opt.state_dict())
        self.log("checkpoint", reason=reason, step=self.step, **info)

    def evaluate(self) -> None:
        t0 = time.time()
        r = self.evaluator.run(self.master)
        r.update(step=self.step, tokens_seen=self.tokens_seen, elapsed_s=round(self.elapsed, 1),
                 eval_s=round(time.time() - t0, 1))
        self.last_eval = r
        self.log("eval", **r)

    def train_step(self, loss_fn, B: int, lr: float) -> tuple[dict, float]:
        """One optimizer step on a batch of B windows: (the loss outputs, the gradient norm before
        clipping). Gradients flow bf16 copy -> fp32 master; the copy is re-synced after the update."""
        for g in self.opt.param_groups:
            g["lr"] = lr
        batch = torch.from_numpy(self.sampler.batch(B))
        out = loss_fn(batch[:, :-1], batch[:, 1:])
        out["loss"].backward()
        if self.bf16:
            self.shadow.grads_to_master()
        gn = float(torch.nn.utils.clip_grad_norm_(self.m_params, self.tc["grad_clip"]))
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        if self.bf16:
            self.shadow.sync()
        return out, gn


def new_window_stats() -> dict:
    """Sums over the steps since the last `train` record."""
    return {"loss": 0.0, "ce": 0.0, "aux": 0.0, "z": 0.0, "n": 0, "tok": 0, "t0": time.time(), "gn": 0.0}


def install_stop_signals() -> dict:
    """SIGTERM/SIGINT set stop["flag"] (the signal's name); the loop then checkpoints and exits."""
    stop = {"flag": None}

    def on_signal(signum, _frame):
        stop["flag"] = signal.Signals(signum).name

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def train_loop(t: Training, args: argparse.Namespace, budget_s: float) -> int:
    """Steps until the budget is used up, a signal, --session-minutes or --max-steps; then the final
    eval (budget, max_steps), a checkpoint and a `stop` record. Logs train / util / collapse_warning /
    phase records, evaluates every eval_every_min and checkpoints every ckpt_every_min minutes.
    Returns the exit status: 0 when the budget is used up, else 10."""
    tc = t.tc
    loss_fn = t.compute.loss
    if tc.get("compile"):
        loss_fn = torch.compile(t.compute.loss, dynamic=False)
    stop = install_stop_signals()

    session_start = time.time()
    seg_start = time.time()  # elapsed is accumulated from here
    last_ckpt = time.time()
    last_eval_t = time.time()
    win_counts = None
    acc = new_window_stats()
    B, T = phase_at(t.elapsed / budget_s, tc)
    t.sampler.set_window(T + 1)
    if t.last_eval is None and t.step == 0:
        t.evaluate()
    while True:
        now = time.time()
        t.elapsed += now - seg_start
        seg_start = now
        reason = None
        if t.elapsed >= budget_s:
            reason = "budget"
        elif stop["flag"]:
            reason = stop["flag"]
        elif args.session_minutes and now - session_start >= args.session_minutes * 60:
            reason = "session"
        elif args.max_steps is not None and t.step >= args.max_steps:
            reason = "max_steps"
        if reason:
            if reason in ("budget", "max_steps"):
                t.evaluate()
            t.checkpoint(reason)
            t.log("stop", reason=reason, step=t.step, tokens_seen=t.tokens_seen, elapsed_s=round(t.elapsed, 1))
            return 0 if reason == "budget" else 10

        nb, nt = phase_at(t.elapsed / budget_s, tc)
        if (nb, nt) != (B, T):
            B, T = nb, nt
            t.sampler.set_window(T + 1)
            acc = new_window_stats()
            t.log("phase", step=t.step, batch_size=B, seq_len=T, progress=round(t.elapsed / budget_s, 4))
        lr = lr_at(t.step, t.elapsed / budget_s, tc)
        out, gn = t.train_step(loss_fn, B, lr)
        t.step += 1
        t.tokens_seen += B * T
        acc["n"] += 1
        acc["tok"] += B * T
        acc["gn"] += gn
        for k in ("loss", "ce", "aux", "z"):
            if k in out:
                acc[k] += float(out[k].detach())
        if "counts" in out:
            win_counts = out["counts"] if win_counts is None else win_counts + out["counts"]

        if t.step % tc["log_every"] == 0:
            dt = time.time() - acc["t0"]
            n = acc["n"]
            rec = {"step": t.step, "tokens_seen": t.tokens_seen, "lr": lr, "loss": acc["loss"] / n,
                   "ce": acc["ce"] / n, "grad_norm": acc["gn"] / n, "tok_per_s": acc["tok"] / dt,
                   "elapsed_s": round(t.elapsed, 1), "progress": round(t.elapsed / budget_s, 4),
                   "seq_len": T, "batch_size": B}
            if not t.cfg.dense:
                rec.update(aux=acc["aux"] / n, z=acc["z"] / n)
            t.log("train", **rec)
            acc = new_window_stats()
        if win_counts is not None and t.step % tc["util_every"] == 0:
            rep, warns = util_report(win_counts)
            t.log("util", step=t.step, window_steps=tc["util_every"], **rep)
            if warns:
                t.log("collapse_warning", step=t.step, experts=warns)
            win_counts = None
        if time.time() - last_eval_t >= tc["eval_every_min"] * 60:
            t.evaluate()
            last_eval_t = time.time()
        if time.time() - last_ckpt >= tc["ckpt_every_min"] * 60:
            t.checkpoint("periodic")
            last_ckpt = time.time()


# ---- main --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    conf, tc, mc, run = run_config(args)
    torch.set_num_threads(int(tc["threads"]))
    log = Logger(os.path.join(args.log_dir, f"{run}.log"))
    ck_dir = os.path.join(args.checkpoint_dir, run)
    tok, sp = load_tokenizer(args.tokenizer)
    add_tokenizer_ids(mc, tc, tok, sp)

    # load_or_resume: this run's latest.pt wins over --init-from (ignored once the run has a checkpoint)
    latest = os.path.join(ck_dir, "latest.pt")
    resume, mc, tc = read_resume(latest, args.fresh, mc, tc)
    init, init_overrides = None, {}
    if resume is None and args.init_from:
        init, mc, init_overrides = read_init(args.init_from, conf, args.set)
    fit_context(mc, tc, continued=init is not None or resume is not None)

    cfg = ModelConfig.from_dict(mc)
    seed = int(tc["seed"])
    seed_everything(seed)
    master, shadow = build_model(cfg, tc)
    opt = make_optimizer(master, tc)
    train_tf, valid_tf, fim, sampler = make_data(args, conf, tc, tok, sp, seed)
    evaluator, eval_len = make_evaluator(valid_tf, tok, sp, cfg, tc, seed, init_overrides)

    t = Training(args, run, log, ck_dir, cfg, tc, master, shadow, opt, sampler, evaluator)
    if resume is not None:
        t.resume(resume, latest)
    elif init is not None:
        t.init_from(init, args.init_from, init_overrides)
    del resume, init

    budget_s = tc["budget_minutes"] * 60.0
    log("start", run=run, model=cfg.to_dict(), train=tc, params=count_params(cfg),
        train_docs=len(train_tf), train_tokens=int(len(train_tf.tokens)), valid_docs=len(valid_tf),
        fim=fim.__dict__, torch=torch.__version__, threads=torch.get_num_threads(),
        eval_fim_samples=len(evaluator.fim), eval_seq_len=eval_len)
    return train_loop(t, args, budget_s)


if __name__ == "__main__":
    sys.exit(main())
