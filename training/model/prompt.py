"""The editor's single-line FIM prompt, as the training eval (train.py's Evaluator) and eval.py build
it: <|fim_suffix|>suffix<|fim_prefix|>prefix<|fim_middle|>, prefix/suffix clipped to whole lines."""

from __future__ import annotations

from .data import encode


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
