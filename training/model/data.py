"""Token files written by training/prepare_data.py, the on-the-fly FIM transformation and the
resumable packed-window sampler used by training/train.py.

Document format (see training/configs/fim.json, which is the single source of these choices):

  plain:  <|file_sep|>{path}\\n{text}<|endoftext|>
  PSM:    [<|file_sep|>{path}\\n]<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>{middle}<|endoftext|>
  SPM:    [<|file_sep|>{path}\\n]<|fim_suffix|>{suffix}<|fim_prefix|>{prefix}<|fim_middle|>{middle}<|endoftext|>

The header, the path line and the text are tokenised separately (header ids + encode(path + "\\n")
+ encode(text)); text is encoded with special-token matching off, so a literal "<|endoftext|>" in
source code stays ordinary bytes. In a FIM sample, prefix, suffix and middle are split at character
level and each is tokenised on its own, exactly as an editor tokenises what is left and right of the
cursor.
"""

from __future__ import annotations

import json
import os
import re
from collections import deque
from dataclasses import dataclass

import numpy as np

SPECIALS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_sep|>", "<|pad|>"]

# Columns of {split}.idx.npy
IDX_TOK_START, IDX_TOK_END, IDX_TEXT_TOK_START, IDX_BYTE_START, IDX_BYTE_LEN = range(5)


def load_tokenizer(path: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(path)
    tok.encode_special_tokens = True  # source text never produces special ids
    ids = {s: tok.token_to_id(s) for s in SPECIALS}
    missing = [s for s, i in ids.items() if i is None]
    if missing:
        raise SystemExit(f"{path}: special tokens missing: {missing}")
    return tok, ids


def encode(tok, text: str) -> list[int]:
    return tok.encode(text, add_special_tokens=False).ids


def header_ids(tok, sp: dict, path: str) -> list[int]:
    return [sp["<|file_sep|>"]] + encode(tok, path + "\n")


class TokenFile:
    """One split: tokens (uint16 memmap), the document index, the raw UTF-8 text and doc metadata."""

    def __init__(self, data_dir: str, split: str):
        self.split = split
        self.tokens = np.memmap(os.path.join(data_dir, f"{split}.bin"), dtype=np.uint16, mode="r")
        self.idx = np.load(os.path.join(data_dir, f"{split}.idx.npy"))
        self.text = np.memmap(os.path.join(data_dir, f"{split}.text.bin"), dtype=np.uint8, mode="r")
        with open(os.path.join(data_dir, f"{split}.docs.jsonl")) as f:
            self.docs = [json.loads(line) for line in f]
        assert len(self.docs) == len(self.idx)

    def __len__(self) -> int:
        return len(self.idx)

    def doc_tokens(self, i: int) -> np.ndarray:
        return np.asarray(self.tokens[self.idx[i, IDX_TOK_START] : self.idx[i, IDX_TOK_END]])

    def doc_text(self, i: int) -> str:
        s, n = int(self.idx[i, IDX_BYTE_START]), int(self.idx[i, IDX_BYTE_LEN])
        return bytes(self.text[s : s + n]).decode("utf-8")


# ---- FIM --------------------------------------------------------------------------------------


@dataclass
class FimConfig:
    fim_rate: float = 0.5
    spm_rate: float = 0.5
    header_rate: float = 0.5
    span_modes: dict | None = None
    max_multi_lines: int = 8
    # editor-aimed modes (configs/v3.json): the trigger mix of "after_operator" and the longest
    # block body of "block_body"
    operator_weights: dict | None = None
    max_block_lines: int = 16

    @classmethod
    def load(cls, path: str) -> "FimConfig":
        d = json.load(open(path))
        return cls(
            fim_rate=d["fim_rate"],
            spm_rate=d["spm_rate"],
            header_rate=d["fim_header_rate"],
            span_modes=d["middle_span_modes"],
            max_multi_lines=d.get("max_multi_lines", 8),
        )


def _line_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, end excluding the newline."""
    out = []
    s = 0
    n = len(text)
    while s <= n:
        e = text.find("\n", s)
        if e < 0:
            out.append((s, n))
            break
        out.append((s, e))
        s = e + 1
    return out


def _content_start(text: str, s: int, e: int) -> int:
    i = s
    while i < e and text[i] in " \t":
        i += 1
    return i


# Cursor positions the editor asks about most (the completion evaluation replays them): right after
# an assignment "=" (and its space), an opening "(", a member-access ".", or "return ".
OPERATOR_TRIGGERS = {
    # "=" of an assignment / default / compound assignment, not ==, =>, <=, >=, !=
    "=": re.compile(r"(?<![=!<>])=(?![=>]) ?"),
    "(": re.compile(r"\("),
    ".": re.compile(r"(?<=[\w$)\]])\.(?=[A-Za-z_$])"),
    "return ": re.compile(r"\breturn "),
}
DEFAULT_OPERATOR_WEIGHTS = {"=": 0.35, "(": 0.25, ".": 0.25, "return ": 0.15}
BLOCK_OPENERS = ("{", "(", "[", ":", "=>")


def _after_operator(text: str, lines: list[tuple[int, int]], rng: np.random.Generator,
                    cfg: FimConfig) -> tuple[int, int] | None:
    """Cursor right after a trigger (=, (, ., return ) inside a line, middle = the rest of that line
    (at least one non-space character)."""
    weights = cfg.operator_weights or DEFAULT_OPERATOR_WEIGHTS
    names = [k for k in weights if weights[k] > 0]
    cands: dict[str, list[tuple[int, int]]] = {k: [] for k in names}
    for s, e in lines:
        line = text[s:e]
        for k in names:
            for m in OPERATOR_TRIGGERS[k].finditer(line):
                a = s + m.end()
                if a < e and text[a:e].strip():
                    cands[k].append((a, e))
    have = [k for k in names if cands[k]]
    if not have:
        return None
    p = np.array([weights[k] for k in have], dtype=np.float64)
    k = have[int(rng.choice(len(have), p=p / p.sum()))]
    return cands[k][int(rng.integers(len(cands[k])))]


def _indent(text: str, s: int, e: int) -> int:
    return _content_start(text, s, e) - s


def _block_body(text: str, all_lines: list[tuple[int, int]], rng: np.random.Generator,
                cfg: FimConfig) -> tuple[int, int] | None:
    """A line ending with an opener ({ ( [ : =>), followed by more-indented lines: the cursor at the
    start of the first body line's content (after its indentation, as after Enter in the editor),
    the middle = the body up to the end of its last line (at most max_block_lines lines; the newline
    before the closing line stays in the suffix)."""
    opens = []
    for j, (s, e) in enumerate(all_lines[:-1]):
        body = text[s:e].rstrip()
        if body and body.endswith(BLOCK_OPENERS) and _content_start(text, s, e) < e:
            opens.append(j)
    rng.shuffle(opens)
    for j in opens[:8]:
        s, e = all_lines[j]
        ind = _indent(text, s, e)
        k = j + 1
        last = None
        while k < len(all_lines) and k - j <= cfg.max_block_lines:
            ks, ke = all_lines[k]
            if _content_start(text, ks, ke) == ke:  # blank line: part of the body if more follows
                k += 1
                continue
            if _indent(text, ks, ke) <= ind:
                break
            last = k
            k += 1
        if last is None:
            continue
        fs, fe = all_lines[j + 1]
        while _content_start(text, fs, fe) == fe:  # first non-blank body line
            j += 1
            fs, fe = all_lines[j + 1]
        a = _content_start(text, fs, fe)
        return a, all_lines[last][1]
    return None


def choose_middle(text: str, rng: np.random.Generator, cfg: FimConfig) -> tuple[int, int, str]:
    """Character span [a, b) of the middle, and the mode used."""
    modes = cfg.span_modes or {"line_to_eol": 1.0}
    names = list(modes)
    probs = np.array([modes[k] for k in names], dtype=np.float64)
    mode = names[int(rng.choice(len(names), p=probs / probs.sum()))]
    n = len(text)
    if n < 2:
        return 0, n, "random"
    all_lines = _line_bounds(text)
    lines = [(s, e) for s, e in all_lines if _content_start(text, s, e) < e]
    if not lines or mode == "random":
        a, b = sorted(rng.integers(0, n + 1, size=2).tolist())
        return a, b, "random"
    if mode == "after_operator":
        r = _after_operator(text, lines, rng, cfg)
        if r is not None:
            return r[0], r[1], mode
        mode = "new_line"
    if mode == "block_body":
        r = _block_body(text, all_lines, rng, cfg)
        if r is not None:
            return r[0], r[1], mode
        mode = "new_line"
    li = int(rng.integers(len(lines)))
    s, e = lines[li]
    c = _content_start(text, s, e)
    if mode == "new_line":
        # a whole line: the cursor after its indentation (the editor after Enter), middle = content
        return c, e, mode
    if mode == "line_to_eol":
        # the cursor after the indentation (a fresh line) or anywhere inside the line
        a = c if rng.random() < 0.5 else int(rng.integers(c, e))
        return a, e, mode
    if mode == "within_line":
        a, b = sorted(rng.integers(c, e + 1, size=2).tolist())
        if a == b:
            b = min(e, a + 1)
        return a, b, mode
    # multi_line: 2..max lines starting at line li, ending at a line end (sometimes with the newline)
    k = int(rng.integers(2, cfg.max_multi_lines + 1))
    lj = min(len(lines) - 1, li + k - 1)
    a = c if rng.random() < 0.5 else int(rng.integers(c, e))
    b = lines[lj][1]
    if rng.random() < 0.3 and b < n:
        b += 1  # include the newline
    return a, b, "multi_line"


def fim_ids(tok, sp: dict, prefix: str, middle: str, suffix: str, spm: bool,
            header: list[int] | None) -> list[int]:
    p, m, s = encode(tok, prefix), encode(tok, middle), encode(tok, suffix)
    out = list(header or [])
    if spm:
        out += [sp["<|fim_suffix|>"]] + s + [sp["<|fim_prefix|>"]] + p + [sp["<|fim_middle|>"]]
    else:
        out += [sp["<|fim_prefix|>"]] + p + [sp["<|fim_suffix|>"]] + s + [sp["<|fim_middle|>"]]
    return out + m + [sp["<|endoftext|>"]]


def excerpt(text: str, max_chars: int, rng: np.random.Generator) -> str:
    """A random run of whole lines of at most ~max_chars characters."""
    if len(text) <= max_chars:
        return text
    start = int(rng.integers(0, len(text) - max_chars + 1))
    if start > 0:
        nl = text.find("\n", start - 1)
        start = nl + 1 if 0 <= nl < start + max_chars // 2 else start
    end = min(len(text), start + max_chars)
    if end < len(text):
        nl = text.rfind("\n", start, end)
        if nl > start + max_chars // 4:
            end = nl + 1
    return text[start:end]


def make_fim_example(tok, sp, tf: TokenFile, i: int, rng: np.random.Generator, cfg: FimConfig,
                     max_tokens: int) -> tuple[list[int], bool, str]:
    text = tf.doc_text(i)
    n_text_tok = int(tf.idx[i, IDX_TOK_END] - tf.idx[i, IDX_TEXT_TOK_START] - 1)
    chars_per_tok = max(1.0, len(text) / max(1, n_text_tok))
    header = header_ids(tok, sp, tf.docs[i]["path"]) if rng.random() < cfg.header_rate else None
    budget = max_tokens - 4 - (len(header) if header else 0)
    max_chars = int(budget * chars_per_tok * 0.95)
    spm = rng.random() < cfg.spm_rate
    for _ in range(4):
        piece = excerpt(text, max_chars, rng)
        a, b, mode = choose_middle(piece, rng, cfg)
        ids = fim_ids(tok, sp, piece[:a], piece[a:b], piece[b:], spm, header)
        if len(ids) <= max_tokens:
            return ids, spm, mode
        max_chars = int(max_chars * 0.8)
    return ids[:max_tokens], spm, mode  # pathological text; truncated (never in practice)


# ---- packed windows ---------------------------------------------------------------------------


class PackedSampler:
    """Fills windows of `window` tokens from documents in a seeded random order. Each document
    becomes a FIM sample with probability fim_rate (an excerpt that fits a window; never split
    across windows) or is appended whole to a plain token stream that fills the remaining space
    (plain documents do continue across windows). The full state is picklable for resuming."""

    def __init__(self, tf: TokenFile, tok, sp, fim: FimConfig, window: int, seed: int):
        self.tf, self.tok, self.sp, self.fim, self.window, self.seed = tf, tok, sp, fim, window, seed
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self.cursor = 0
        self.perm = self._perm(0)
        self.plain = np.zeros(0, dtype=np.int64)
        self.plain_pos = 0
        self.fim_q: deque = deque()
        self.stats = {"docs": 0, "fim_docs": 0, "spm": 0, "psm": 0, "modes": {}, "windows": 0}

    def _perm(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.tf))

    def _next_doc(self) -> None:
        if self.cursor >= len(self.perm):
            self.epoch += 1
            self.cursor = 0
            self.perm = self._perm(self.epoch)
        i = int(self.perm[self.cursor])
        self.cursor += 1
        self.stats["docs"] += 1
        if self.fim.fim_rate > 0 and self.rng.random() < self.fim.fim_rate:
            ids, spm, mode = make_fim_example(self.tok, self.sp, self.tf, i, self.rng, self.fim, self.window)
            self.fim_q.append(np.asarray(ids, dtype=np.int64))
            self.stats["fim_docs"] += 1
            self.stats["spm" if spm else "psm"] += 1
            self.stats["modes"][mode] = self.stats["modes"].get(mode, 0) + 1
        else:
            rest = self.plain[self.plain_pos :]
            self.plain = np.concatenate([rest, self.tf.doc_tokens(i).astype(np.int64)])
            self.plain_pos = 0

    def next_window(self) -> np.ndarray:
        out = []
        filled = 0
        while filled < self.window:
            space = self.window - filled
            if self.fim_q and len(self.fim_q[0]) > self.window:
                # made for a longer window (a seq_len schedule going down): cut to this window
                self.fim_q[0] = self.fim_q[0][: self.window]
            if self.fim_q and len(self.fim_q[0]) <= space:
                x = self.fim_q.popleft()
                out.append(x)
                filled += len(x)
                continue
            avail = len(self.plain) - self.plain_pos
            if avail > 0:
                take = min(space, avail)
                out.append(self.plain[self.plain_pos : self.plain_pos + take])
                self.plain_pos += take
                filled += take
                continue
            self._next_doc()
        self.stats["windows"] += 1
        return np.concatenate(out)

    def batch(self, b: int) -> np.ndarray:
        return np.stack([self.next_window() for _ in range(b)])

    def state_dict(self) -> dict:
        return {
            "seed": self.seed,
            "epoch": self.epoch,
            "cursor": self.cursor,
            "rng": self.rng.bit_generator.state,
            "plain": self.plain[self.plain_pos :].copy(),
            "fim_q": [x.copy() for x in self.fim_q],
            "stats": json.loads(json.dumps(self.stats)),
            "n_docs": len(self.tf),
        }

    def load_state_dict(self, st: dict) -> None:
        if st["n_docs"] != len(self.tf):
            raise SystemExit(f"data changed since the checkpoint ({st['n_docs']} docs, now {len(self.tf)})")
        self.seed = st["seed"]
        self.epoch = st["epoch"]
        self.perm = self._perm(self.epoch)
        self.cursor = st["cursor"]
        self.rng.bit_generator.state = st["rng"]
        self.plain = st["plain"]
        self.plain_pos = 0
        self.fim_q = deque(st["fim_q"])
        self.stats = st["stats"]

    def set_window(self, window: int) -> None:
        """Change the window (a seq_len curriculum); the queued state stays valid."""
        self.window = window


# ---- evaluation helpers -----------------------------------------------------------------------


def token_byte_lengths(tok, vocab_size: int) -> np.ndarray:
    """UTF-8 bytes each token id stands for (0 for special tokens)."""
    vocab = tok.get_vocab()
    # ByteLevel maps bytes to printable unicode chars; invert that map.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    char_to_byte = {chr(c): b for b, c in zip(bs, cs)}
    out = np.zeros(vocab_size, dtype=np.int64)
    specials = set(SPECIALS)
    for t, i in vocab.items():
        if i >= vocab_size or t in specials:
            continue
        out[i] = len(t) if all(ch in char_to_byte for ch in t) else len(t.encode())
    return out


def is_only_punct(s: str) -> bool:
    return all(not ch.isalnum() for ch in s)


def single_line_fim_samples(tf: TokenFile, n: int, seed: int, min_len: int = 4, max_len: int = 80,
                            max_docs: int | None = None) -> list[dict]:
    """The held-out single-line FIM task: one line whose content (after indentation, without the
    newline) has 4..80 characters and is not only brackets/punctuation. prefix = text up to the
    line's indentation (the cursor at the start of the line's content), middle = the content,
    suffix = the newline and the rest. At most one sample per document, documents in a seeded
    order, so samples come from many files and packages."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(tf))
    out = []
    for i in order[: max_docs or len(order)]:
        text = tf.doc_text(int(i))
        cands = []
        for s, e in _line_bounds(text):
            c = _content_start(text, s, e)
            content = text[c:e]
            if min_len <= len(content) <= max_len and not is_only_punct(content):
                cands.append((c, e))
        if not cands:
            continue
        c, e = cands[int(rng.integers(len(cands)))]
        out.append({"doc": int(i), "path": tf.docs[int(i)]["path"], "package": tf.docs[int(i)].get("package"),
                    "language": tf.docs[int(i)].get("language"),
                    "prefix": text[:c], "middle": text[c:e], "suffix": text[e:]})
        if len(out) >= n:
            break
    return out
