"""bf16 compute with fp32 master weights, for CPUs whose bf16 matmuls are ~2x faster than fp32
(AVX512-BF16) but where torch.autocast's per-op casts cost more than they save.

The compute model is a bf16 copy of the fp32 master model, except the token embedding, which stays
fp32 (its backward sums many rows per frequent token; in bf16 that sum loses ~2%). With tied
embeddings the compute copy is untied (fp32 embedding for the lookup, bf16 lm_head for the big
matmul) and both gradients are added, in fp32, into the one master tensor. AdamW updates the
master weights; `sync()` copies them back into the compute model.
"""

from __future__ import annotations

import dataclasses

import torch

from .qwen3moe import Qwen3MoeLM


class Bf16Compute:
    def __init__(self, master: Qwen3MoeLM):
        self.master = master
        cfg = dataclasses.replace(master.cfg, tie_word_embeddings=False)
        self.model = Qwen3MoeLM(cfg)
        m_named = dict(master.named_parameters())
        self.pairs: list[tuple[torch.nn.Parameter, torch.nn.Parameter]] = []
        for name, p in self.model.named_parameters():
            src = name
            if name == "lm_head.weight" and master.cfg.tie_word_embeddings:
                src = "model.embed_tokens.weight"
            self.pairs.append((p, m_named[src]))
        self.model.to(torch.bfloat16)
        self.model.model.embed_tokens.float()
        self.sync()

    @torch.no_grad()
    def sync(self) -> None:
        for c, m in self.pairs:
            c.copy_(m)

    def grads_to_master(self) -> None:
        for m in self.master.parameters():
            m.grad = None
        for c, m in self.pairs:
            if c.grad is None:
                continue
            g = c.grad.float()
            m.grad = g if m.grad is None else m.grad + g
            c.grad = None

    def train(self, mode: bool = True):
        self.model.train(mode)
        return self
