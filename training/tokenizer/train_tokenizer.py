#!/usr/bin/env python3
"""Train the MoE Lens byte-level BPE tokenizer on training/data/train.jsonl.

  # the shipped tokenizer (writes training/tokenizer/tokenizer.json + tokenizer_config.json)
  RAYON_RS_NUM_CPUS=1 python training/tokenizer/train_tokenizer.py
  # the comparison behind the choice: vocab 8k/12k/16k x digits merged/individual
  RAYON_RS_NUM_CPUS=1 python training/tokenizer/train_tokenizer.py --sweep

Design: Hugging Face `tokenizers` BPE over bytes (ByteLevel pre-tokenizer with the GPT-2 split
regex, add_prefix_space=False, ByteLevel decoder; no normaliser, so every byte sequence
round-trips). The GPT-2 regex keeps whitespace runs together (`\\s+(?!\\S)`), so newline+indent
runs of code become single tokens. Optionally digits are split into single digits first.
Special tokens, in id order: <|endoftext|> (0), <|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>,
<|file_sep|>, <|pad|>. After training, every validation file is checked for an exact round trip
decode(encode(x)) == x and bytes/token is measured on the validation split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

os.environ.setdefault("RAYON_RS_NUM_CPUS", "1")  # one worker: this 2-core machine is shared
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)
DATA = os.path.join(TRAINING, "data")

SPECIAL_TOKENS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
                  "<|file_sep|>", "<|pad|>"]
DEFAULT_VOCAB = 12288
MODEL_MAX_LENGTH = 2048


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def read_texts(path: str, limit_bytes: int | None = None):
    total = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            yield text
            total += len(text)
            if limit_bytes and total >= limit_bytes:
                return


# GPT-2's split regex with its whitespace-run alternatives (\s+(?!\S)|\s+) replaced by single
# whitespace characters: the "whitespace=single" variant of the sweep (indentation not merged).
SINGLE_WS_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s"


def build_tokenizer(digits: str, whitespace: str = "runs") -> Tokenizer:
    tok = Tokenizer(models.BPE())  # byte-level: every byte is in the alphabet, no unk needed
    steps = []
    if digits == "individual":
        steps.append(pre_tokenizers.Digits(individual_digits=True))
    if whitespace == "runs":
        steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True))
    else:
        steps.append(pre_tokenizers.Split(Regex(SINGLE_WS_PATTERN), behavior="isolated"))
        steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False))
    tok.pre_tokenizer = steps[0] if len(steps) == 1 else pre_tokenizers.Sequence(steps)
    tok.decoder = decoders.ByteLevel()
    return tok


def train(train_path: str, vocab_size: int, digits: str, limit_bytes: int | None = None,
          whitespace: str = "runs") -> Tokenizer:
    tok = build_tokenizer(digits, whitespace)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(read_texts(train_path, limit_bytes), trainer=trainer)
    for i, s in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    assert tok.get_vocab_size() == vocab_size, tok.get_vocab_size()
    return tok


def evaluate(tok: Tokenizer, valid_path: str, check_roundtrip: bool = True,
             ids_hash_out: str | None = None) -> dict:
    ids_hash = hashlib.sha256()
    n_files = n_bytes = n_tokens = 0
    failures = []
    by_lang: dict[str, list[int]] = {}
    with open(valid_path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            text = d["text"]
            ids = tok.encode(text).ids
            ids_hash.update((json.dumps(ids, separators=(",", ":")) + "\n").encode())
            b = len(text.encode("utf-8"))
            n_files += 1
            n_bytes += b
            n_tokens += len(ids)
            acc = by_lang.setdefault(d["language"], [0, 0])
            acc[0] += b
            acc[1] += len(ids)
            if check_roundtrip and tok.decode(ids, skip_special_tokens=False) != text:
                failures.append(f"{d['package']}/{d['path']}")
    if ids_hash_out:
        with open(ids_hash_out, "w") as f:
            f.write(ids_hash.hexdigest() + "\n")
    return {
        "files": n_files,
        "bytes": n_bytes,
        "tokens": n_tokens,
        "bytes_per_token": round(n_bytes / max(1, n_tokens), 4),
        "ids_sha256": ids_hash.hexdigest(),
        "bytes_per_token_by_language": {k: round(v[0] / max(1, v[1]), 3) for k, v in sorted(by_lang.items())},
        "roundtrip_checked": check_roundtrip,
        "roundtrip_failures": failures,
    }


def count_tokens(tok: Tokenizer, path: str) -> dict:
    n_bytes = n_tokens = n_files = 0
    batch: list[str] = []

    def flush():
        nonlocal n_tokens
        for enc in tok.encode_batch(batch):
            n_tokens += len(enc.ids)
        batch.clear()

    for text in read_texts(path):
        batch.append(text)
        n_files += 1
        n_bytes += len(text.encode("utf-8"))
        if len(batch) >= 512:
            flush()
    flush()
    return {"files": n_files, "bytes": n_bytes, "tokens": n_tokens,
            "bytes_per_token": round(n_bytes / max(1, n_tokens), 4)}


def write_config(out_dir: str, vocab_size: int, digits: str, whitespace: str) -> None:
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MODEL_MAX_LENGTH,
        "bos_token": None,
        "eos_token": "<|endoftext|>",
        "unk_token": None,
        "pad_token": "<|pad|>",
        "additional_special_tokens": SPECIAL_TOKENS[1:5],
        "fim_prefix_token": "<|fim_prefix|>",
        "fim_suffix_token": "<|fim_suffix|>",
        "fim_middle_token": "<|fim_middle|>",
        "file_sep_token": "<|file_sep|>",
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "vocab_size": vocab_size,
        "moe_lens": {
            "model": "byte-level BPE (Hugging Face tokenizers)",
            "pre_tokenizer": ("ByteLevel(add_prefix_space=False, GPT-2 regex: whitespace runs kept together)"
                              if whitespace == "runs" else "Split(GPT-2 regex, single whitespace) + ByteLevel")
                             + (" after Digits(individual_digits=True)" if digits == "individual" else ""),
            "special_token_ids": {s: i for i, s in enumerate(SPECIAL_TOKENS)},
            "trained_on": "training/data/train.jsonl (see training/corpus-manifest.json)",
        },
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default=os.path.join(DATA, "train.jsonl"))
    ap.add_argument("--valid", default=os.path.join(DATA, "valid.jsonl"))
    ap.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB)
    ap.add_argument("--digits", choices=["individual", "merged"], default="individual")
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--sweep", action="store_true",
                    help="train 8k/12k/16k x digits individual/merged, report bytes/token on validation")
    ap.add_argument("--sweep-train-bytes", type=int, default=None,
                    help="train the sweep's tokenizers on the first N characters of train.jsonl only")
    ap.add_argument("--sweep-only", default=None, help="comma list of VOCAB/DIGITS/WHITESPACE configs")
    ap.add_argument("--sweep-out", default=os.path.join(DATA, "tokenizer_sweep.json"))
    ap.add_argument("--whitespace", choices=["runs", "single"], default="runs",
                    help="runs: GPT-2 regex, whitespace runs (indentation) can merge; single: one char each")
    ap.add_argument("--report", default=os.path.join(DATA, "tokenizer_report.json"))
    args = ap.parse_args()

    if args.sweep:
        results = []
        configs = [(vs, d, "runs") for d in ("merged", "individual") for vs in (8192, 12288, 16384)]
        configs += [(12288, "individual", "single"), (12288, "merged", "single")]
        if args.sweep_only:
            configs = [c for c in configs if f"{c[0]}/{c[1]}/{c[2]}" in args.sweep_only.split(",")]
        for vs, digits, ws in configs:
            t0 = time.time()
            tok = train(args.train, vs, digits, args.sweep_train_bytes, ws)
            t_train = time.time() - t0
            ev = evaluate(tok, args.valid, check_roundtrip=True)
            r = {"vocab_size": vs, "digits": digits, "whitespace": ws, "train_s": round(t_train, 1),
                 "valid_bytes_per_token": ev["bytes_per_token"],
                 "by_language": ev["bytes_per_token_by_language"],
                 "roundtrip_failures": len(ev["roundtrip_failures"])}
            log(json.dumps(r))
            results.append(r)
        path = args.sweep_out
        with open(path, "w") as f:
            json.dump({"train_chars_limit": args.sweep_train_bytes, "results": results}, f, indent=1)
        log(f"wrote {path}")
        return 0

    t0 = time.time()
    log(f"training vocab={args.vocab_size} digits={args.digits} on {args.train}")
    tok = train(args.train, args.vocab_size, args.digits, whitespace=args.whitespace)
    t_train = round(time.time() - t0, 1)
    os.makedirs(args.out_dir, exist_ok=True)
    tok.save(os.path.join(args.out_dir, "tokenizer.json"))
    write_config(args.out_dir, args.vocab_size, args.digits, args.whitespace)
    log(f"trained in {t_train}s; checking round trips on {args.valid}")

    reloaded = Tokenizer.from_file(os.path.join(args.out_dir, "tokenizer.json"))
    t1 = time.time()
    valid = evaluate(reloaded, args.valid, check_roundtrip=True,
                     ids_hash_out=os.path.join(DATA, "valid_ids.sha256"))
    t_valid = round(time.time() - t1, 1)
    t2 = time.time()
    train_counts = count_tokens(reloaded, args.train)
    t_count = round(time.time() - t2, 1)
    report = {
        "vocab_size": args.vocab_size,
        "digits": args.digits,
        "whitespace": args.whitespace,
        "special_tokens": {s: reloaded.token_to_id(s) for s in SPECIAL_TOKENS},
        "train": train_counts,
        "valid": valid,
        "timings_s": {"train": t_train, "valid_eval_and_roundtrip": t_valid, "train_token_count": t_count},
        "tokenizer_json_bytes": os.path.getsize(os.path.join(args.out_dir, "tokenizer.json")),
    }
    with open(args.report, "w") as f:
        json.dump(report, f, indent=1)
    log(json.dumps({k: v for k, v in report.items() if k != "valid"}))
    log(f"valid: {valid['files']} files, {valid['bytes']} bytes, {valid['tokens']} tokens, "
        f"{valid['bytes_per_token']} bytes/token, round-trip failures: {len(valid['roundtrip_failures'])}")
    return 1 if valid["roundtrip_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
