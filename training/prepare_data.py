#!/usr/bin/env python3
"""Tokenise the corpus splits into uint16 token files for training/train.py and training/eval.py.

    RAYON_RS_NUM_CPUS=1 python training/prepare_data.py

Reads training/data/{train,valid}.jsonl ({package, version, path, language, text} per line) and
training/tokenizer/tokenizer.json; writes, per split, into training/data/:

  {split}.bin         uint16 token ids, every document as
                      <|file_sep|> encode(path + "\\n") encode(text) <|endoftext|>
                      (documents are separated by <|endoftext|>; the <|file_sep|> + path line
                      opens each one, so the model knows the file type)
  {split}.idx.npy     int64 [docs, 5]: token start, token end, first text token, byte offset of
                      the text in {split}.text.bin, UTF-8 byte length of the text
  {split}.text.bin    the documents' UTF-8 text, concatenated (FIM is cut from it at character level
                      on the fly by train.py; it is never baked into the token files)
  {split}.docs.jsonl  {package, version, path, language} per document, in file order
  {split}.stats.json  documents, tokens, text bytes, bytes per token, per language

Text is encoded with special-token matching off (a literal "<|endoftext|>" in a source file stays
text). The FIM format and rates are in training/configs/fim.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("RAYON_RS_NUM_CPUS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from model.data import load_tokenizer  # noqa: E402


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def prepare_split(jsonl: str, out_dir: str, split: str, tok, sp: dict, batch: int = 256) -> dict:
    vocab = tok.get_vocab_size()
    assert vocab <= 65536, "uint16 token files need vocab <= 65536"
    paths = {k: os.path.join(out_dir, f"{split}.{k}") for k in ("bin", "text.bin", "docs.jsonl")}
    tmp = {k: v + ".tmp" for k, v in paths.items()}
    f_bin = open(tmp["bin"], "wb")
    f_txt = open(tmp["text.bin"], "wb")
    f_docs = open(tmp["docs.jsonl"], "w")
    idx = []
    tok_pos = 0
    byte_pos = 0
    by_lang: dict[str, dict] = {}
    eot, fsep = sp["<|endoftext|>"], sp["<|file_sep|>"]

    def flush(recs):
        nonlocal tok_pos, byte_pos
        texts = [r["text"] for r in recs]
        heads = [r["path"] + "\n" for r in recs]
        enc_t = tok.encode_batch(texts, add_special_tokens=False)
        enc_h = tok.encode_batch(heads, add_special_tokens=False)
        for r, et, eh in zip(recs, enc_t, enc_h):
            ids = [fsep] + eh.ids + et.ids + [eot]
            arr = np.asarray(ids, dtype=np.uint16)
            f_bin.write(arr.tobytes())
            b = r["text"].encode("utf-8")
            f_txt.write(b)
            idx.append((tok_pos, tok_pos + len(ids), tok_pos + 1 + len(eh.ids), byte_pos, len(b)))
            tok_pos += len(ids)
            byte_pos += len(b)
            meta = {k: r.get(k) for k in ("package", "version", "path", "language")}
            f_docs.write(json.dumps(meta) + "\n")
            s = by_lang.setdefault(r.get("language") or "?", {"docs": 0, "text_tokens": 0, "bytes": 0})
            s["docs"] += 1
            s["text_tokens"] += len(et.ids)
            s["bytes"] += len(b)

    recs = []
    t0 = time.time()
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            recs.append(json.loads(line))
            if len(recs) >= batch:
                flush(recs)
                recs = []
                if len(idx) % (batch * 40) == 0:
                    log(f"{split}: {len(idx)} docs, {tok_pos:,} tokens, {time.time() - t0:.0f}s")
    if recs:
        flush(recs)
    for fh in (f_bin, f_txt, f_docs):
        fh.close()
    for k in paths:
        os.replace(tmp[k], paths[k])
    np.save(os.path.join(out_dir, f"{split}.idx.npy"), np.asarray(idx, dtype=np.int64))
    text_tokens = sum(s["text_tokens"] for s in by_lang.values())
    stats = {
        "split": split,
        "source": os.path.relpath(jsonl, HERE),
        "docs": len(idx),
        "tokens": tok_pos,
        "text_tokens": text_tokens,
        "text_bytes": byte_pos,
        "bytes_per_text_token": round(byte_pos / max(1, text_tokens), 4),
        "by_language": {k: {**v, "bytes_per_token": round(v["bytes"] / max(1, v["text_tokens"]), 3)}
                        for k, v in sorted(by_lang.items())},
        "seconds": round(time.time() - t0, 1),
        "vocab_size": vocab,
    }
    with open(os.path.join(out_dir, f"{split}.stats.json"), "w") as f:
        json.dump(stats, f, indent=2)
        f.write("\n")
    log(json.dumps({k: v for k, v in stats.items() if k != "by_language"}))
    return stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.path.join(HERE, "data"), help="where {split}.jsonl are")
    ap.add_argument("--out-dir", default=None, help="defaults to --data-dir")
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer", "tokenizer.json"))
    ap.add_argument("--splits", default="valid,train")
    args = ap.parse_args(argv)
    out = args.out_dir or args.data_dir
    os.makedirs(out, exist_ok=True)
    tok, sp = load_tokenizer(args.tokenizer)
    log(f"tokenizer {args.tokenizer}: vocab {tok.get_vocab_size()}, specials {sp}")
    for split in args.splits.split(","):
        prepare_split(os.path.join(args.data_dir, f"{split}.jsonl"), out, split, tok, sp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
