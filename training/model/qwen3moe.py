"""A Qwen3-MoE decoder written for fast CPU training, numerically the maths of transformers'
Qwen3MoeForCausalLM (transformers 5.23, modeling_qwen3_moe.py):

  * RMSNorm in fp32: x * rsqrt(mean(x^2) + eps) * weight
  * attention: q/k/v projections without bias, per-head RMSNorm on q and k (over head_dim) before
    RoPE, RoPE with rotate_half (cos/sin of cat(freqs, freqs)), GQA, scale head_dim^-0.5, causal
  * sparse MLP: router z = W_g x (no bias), p = softmax(z) in fp32, top-k of p, renormalised
    (norm_topk_prob = true), y = sum_k w_k * down_e(silu(gate_e x) * up_e x)
  * dense MLP (mlp_only_layers / the --dense ablation): the same SwiGLU with intermediate_size
  * final RMSNorm, lm_head (optionally tied to the embedding)

Parameter names are transformers 5's in-memory names, so `state_dict()` loads into
Qwen3MoeForCausalLM directly:
  model.embed_tokens.weight, model.layers.{i}.self_attn.{q,k,v,o}_proj.weight,
  model.layers.{i}.self_attn.{q,k}_norm.weight, model.layers.{i}.{input,post_attention}_layernorm.weight,
  model.layers.{i}.mlp.gate.weight [E, H] (router),
  model.layers.{i}.mlp.experts.gate_up_proj [E, 2I, H] (gate rows first, then up),
  model.layers.{i}.mlp.experts.down_proj [E, H, I],
  model.layers.{i}.mlp.{gate,up,down}_proj.weight (dense layers), model.norm.weight, lm_head.weight.
`hub_state_dict()` splits the fused experts into the hub names
  model.layers.{i}.mlp.experts.{e}.{gate,up,down}_proj.weight
that Qwen/Qwen3-30B-A3B uses and that our converter reads (src/checkpoint/checkpointLayout.ts).

Training-only extras (all off in eval mode, none changes the inference maths): router jitter
(multiplicative uniform noise on the router input), the Switch load-balancing loss
E * sum_e f_e * P_e per layer, and the router z-loss mean(logsumexp(z)^2).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ModelConfig:
    vocab_size: int = 12288
    hidden_size: int = 384
    num_hidden_layers: int = 4
    num_attention_heads: int = 6
    num_key_value_heads: int = 2
    head_dim: int = 64
    num_experts: int = 8
    num_experts_per_tok: int = 2
    moe_intermediate_size: int = 512
    norm_topk_prob: bool = True
    # Dense ablation: every layer a plain SwiGLU of width intermediate_size (= top_k * expert width).
    dense: bool = False
    intermediate_size: int = 0
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 512
    tie_word_embeddings: bool = True
    # Training-only router regularisers.
    router_aux_loss_coef: float = 0.01
    router_z_loss_coef: float = 1e-3
    router_jitter: float = 0.01
    # Expert kernel: "loop" (sort tokens by expert, one matmul per expert) or "grouped"
    # (torch.nn.functional.grouped_mm over the sorted tokens). Same maths.
    expert_impl: str = "loop"
    init_std: float = 0.02
    # Token ids, recorded in config.json.
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = 0
    pad_token_id: int | None = None

    def __post_init__(self):
        if self.dense and not self.intermediate_size:
            self.intermediate_size = self.num_experts_per_tok * self.moe_intermediate_size

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # transformers: weight * (x.float() * rsqrt(mean(x^2) + eps)).to(dtype). F.rms_norm is the
        # same formula fused (fp32 accumulation).
        dtype = x.dtype
        y = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps)
        return self.weight * y.to(dtype)


def rope_cache(cfg: ModelConfig, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    dim = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    pos = torch.arange(length, dtype=torch.float32)
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.nh = cfg.num_attention_heads
        self.nkv = cfg.num_key_value_heads
        self.hd = cfg.head_dim
        h = cfg.hidden_size
        self.q_proj = nn.Linear(h, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, h, bias=False)
        self.q_norm = RMSNorm(self.hd, cfg.rms_norm_eps)
        self.k_norm = RMSNorm(self.hd, cfg.rms_norm_eps)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, past=None):
        """past: None (training / full sequence) or a (k, v) pair of earlier positions (KV-cache
        decoding; then x is either the whole prompt with an empty cache or one new token)."""
        b, t, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, t, self.nh, self.hd)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(b, t, self.nkv, self.hd)).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        cos = cos.to(q.dtype)
        sin = sin.to(q.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        causal = True
        if past is not None and past[0] is not None:
            if t != 1:
                raise ValueError("cached attention takes one new token at a time")
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
            causal = False
        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=self.nh != self.nkv)
        out = self.o_proj(o.transpose(1, 2).reshape(b, t, self.nh * self.hd))
        return out if past is None else (out, (k, v))


class DenseMLP(nn.Module):
    def __init__(self, h: int, inter: int):
        super().__init__()
        self.gate_proj = nn.Linear(h, inter, bias=False)
        self.up_proj = nn.Linear(h, inter, bias=False)
        self.down_proj = nn.Linear(inter, h, bias=False)

    def forward(self, x: torch.Tensor):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x)), None


class Experts(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        e, h, i = cfg.num_experts, cfg.hidden_size, cfg.moe_intermediate_size
        self.num_experts = e
        self.inter = i
        self.gate_up_proj = nn.Parameter(torch.empty(e, 2 * i, h))
        self.down_proj = nn.Parameter(torch.empty(e, h, i))
        self.impl = cfg.expert_impl

    def forward(self, x: torch.Tensor, top_i: torch.Tensor, top_w: torch.Tensor) -> torch.Tensor:
        n, h = x.shape
        k = top_i.shape[1]
        flat_e = top_i.reshape(-1)
        order = torch.argsort(flat_e, stable=True)
        tok = order // k
        counts = torch.bincount(flat_e, minlength=self.num_experts)
        xs = x.index_select(0, tok)
        wdt = xs.dtype
        if self.impl == "grouped":
            offs = torch.cumsum(counts, 0).to(torch.int32)
            gu = F.grouped_mm(xs, self.gate_up_proj.to(wdt).transpose(1, 2), offs=offs)
            g, u = gu.chunk(2, dim=-1)
            hs = F.silu(g) * u
            ys = F.grouped_mm(hs, self.down_proj.to(wdt).transpose(1, 2), offs=offs)
        else:
            outs = []
            start = 0
            for e, c in enumerate(counts.tolist()):
                if c == 0:
                    continue
                xe = xs[start : start + c]
                start += c
                g, u = F.linear(xe, self.gate_up_proj[e]).chunk(2, dim=-1)
                outs.append(F.linear(F.silu(g) * u, self.down_proj[e]))
            ys = torch.cat(outs, 0)
        ys = ys * top_w.reshape(-1)[order].unsqueeze(-1).to(ys.dtype)
        out = torch.zeros(n, h, dtype=ys.dtype, device=x.device)
        return out.index_add_(0, tok, ys)


class SparseMoeBlock(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.gate = nn.Linear(cfg.hidden_size, cfg.num_experts, bias=False)  # router, [E, H]
        self.experts = Experts(cfg)

    def forward(self, x: torch.Tensor):
        b, t, h = x.shape
        xf = x.reshape(-1, h)
        xr = xf
        if self.training and self.cfg.router_jitter > 0:
            eps = self.cfg.router_jitter
            xr = xf * torch.empty_like(xf).uniform_(1.0 - eps, 1.0 + eps)
        # The router runs in fp32 (also under autocast): routing decisions must not depend on
        # bf16 rounding, and the exported model is evaluated in fp32.
        with torch.autocast(device_type=x.device.type, enabled=False):
            logits = F.linear(xr.float(), self.gate.weight.float())
        probs = torch.softmax(logits, dim=-1, dtype=torch.float32)
        top_v, top_i = torch.topk(probs, self.cfg.num_experts_per_tok, dim=-1)
        if self.cfg.norm_topk_prob:
            top_v = top_v / top_v.sum(dim=-1, keepdim=True)
        y = self.experts(xf, top_i, top_v.to(xf.dtype))
        return y.reshape(b, t, h), (logits, probs, top_i)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.self_attn = Attention(cfg)
        if cfg.dense:
            self.mlp = DenseMLP(cfg.hidden_size, cfg.intermediate_size)
        else:
            self.mlp = SparseMoeBlock(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        y, router = self.mlp(self.post_attention_layernorm(x))
        return x + y, router


class Backbone(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class Qwen3MoeLM(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.model = Backbone(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        cos, sin = rope_cache(cfg, cfg.max_position_embeddings)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self):
        std = self.cfg.init_std
        # GPT-2/OLMo-style: residual-branch output projections scaled by 1/sqrt(2 L).
        out_std = std / math.sqrt(2 * self.cfg.num_hidden_layers)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif name.endswith("o_proj.weight") or name.endswith("down_proj") or name.endswith(
                "down_proj.weight"
            ):
                p.normal_(0.0, out_std)
            else:
                p.normal_(0.0, std)

    def rope(self, t: int, offset: int = 0):
        if offset + t > self.rope_cos.shape[0]:
            cos, sin = rope_cache(self.cfg, offset + t)
            self.rope_cos, self.rope_sin = cos.to(self.rope_cos.device), sin.to(self.rope_sin.device)
        return self.rope_cos[offset : offset + t], self.rope_sin[offset : offset + t]

    def hidden(self, input_ids: torch.Tensor):
        # (the bf16 training copy keeps its embedding in fp32: cast to the layers' dtype)
        x = self.model.embed_tokens(input_ids).to(self.model.norm.weight.dtype)
        cos, sin = self.rope(input_ids.shape[1])
        routers = []
        for layer in self.model.layers:
            x, r = layer(x, cos, sin)
            routers.append(r)
        return self.model.norm(x), routers

    @torch.no_grad()
    def forward_cached(self, input_ids: torch.Tensor, cache: list | None):
        """Incremental decoding: call with the prompt and cache=None, then with one token at a time
        and the returned cache. Returns (logits [B, T, V], cache, routers)."""
        pos = 0 if cache is None else cache[0][0].shape[2]
        if cache is None:
            cache = [(None, None)] * len(self.model.layers)
        x = self.model.embed_tokens(input_ids).to(self.model.norm.weight.dtype)
        cos, sin = self.rope(input_ids.shape[1], pos)
        new_cache, routers = [], []
        for layer, past in zip(self.model.layers, cache):
            a, kv = layer.self_attn(layer.input_layernorm(x), cos, sin, past)
            x = x + a
            y, r = layer.mlp(layer.post_attention_layernorm(x))
            x = x + y
            new_cache.append(kv)
            routers.append(r)
        return self.lm_head(self.model.norm(x)), new_cache, routers

    def forward(self, input_ids: torch.Tensor):
        """Logits [B, T, V] and the per-layer router outputs (logits, probs, top-k ids) or None."""
        h, routers = self.hidden(input_ids)
        return self.lm_head(h), routers

    def loss(self, input_ids: torch.Tensor, targets: torch.Tensor) -> dict:
        """Training objective: CE + aux_coef * mean_l(E * sum_e f_le P_le) + z_coef * mean_l z_l.
        f_le is the share of routed slots (token x k) that went to expert e (sums to 1, so a
        balanced router scores 1.0), P_le the mean router probability."""
        logits, routers = self.forward(input_ids)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))
        out = {"ce": ce, "loss": ce}
        if not self.cfg.dense:
            e = self.cfg.num_experts
            aux_terms, z_terms, counts = [], [], []
            for logits_l, probs_l, top_i in routers:
                c = torch.bincount(top_i.reshape(-1), minlength=e).float()
                f = c / c.sum()
                p = probs_l.mean(0)
                aux_terms.append(e * (f * p).sum())
                z_terms.append(torch.logsumexp(logits_l, dim=-1).pow(2).mean())
                counts.append(c.detach())
            aux = torch.stack(aux_terms).mean()
            z = torch.stack(z_terms).mean()
            out["aux"] = aux
            out["z"] = z
            out["counts"] = torch.stack(counts)  # [L, E] routed slots per expert
            out["loss"] = ce + self.cfg.router_aux_loss_coef * aux + self.cfg.router_z_loss_coef * z
        return out

    # ---- export -------------------------------------------------------------------------------

    def hub_state_dict(self) -> dict[str, torch.Tensor]:
        """Weights in Hugging Face hub naming (per-expert tensors), fp32, contiguous. With tied
        embeddings lm_head.weight is omitted (transformers re-ties it from tie_word_embeddings)."""
        out: dict[str, torch.Tensor] = {}
        for k, v in self.state_dict().items():
            v = v.detach().float().contiguous()
            if k == "lm_head.weight" and self.cfg.tie_word_embeddings:
                continue
            if k.endswith("mlp.experts.gate_up_proj"):
                prefix = k[: -len("gate_up_proj")]
                i = v.shape[1] // 2
                for e in range(v.shape[0]):
                    out[f"{prefix}{e}.gate_proj.weight"] = v[e, :i].clone()
                    out[f"{prefix}{e}.up_proj.weight"] = v[e, i:].clone()
            elif k.endswith("mlp.experts.down_proj"):
                prefix = k[: -len("down_proj")]
                for e in range(v.shape[0]):
                    out[f"{prefix}{e}.down_proj.weight"] = v[e].clone()
            else:
                out[k] = v
        return out

    def hf_config(self) -> dict:
        """config.json for Qwen3MoeForCausalLM, hub spelling (num_experts, rope_parameters)."""
        c = self.cfg
        cfg = {
            "architectures": ["Qwen3MoeForCausalLM"],
            "model_type": "qwen3_moe",
            "vocab_size": c.vocab_size,
            "hidden_size": c.hidden_size,
            "num_hidden_layers": c.num_hidden_layers,
            "num_attention_heads": c.num_attention_heads,
            "num_key_value_heads": c.num_key_value_heads,
            "head_dim": c.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": c.max_position_embeddings,
            "rms_norm_eps": c.rms_norm_eps,
            "rope_parameters": {"rope_type": "default", "rope_theta": c.rope_theta},
            "attention_bias": False,
            "attention_dropout": 0.0,
            "use_sliding_window": False,
            "sliding_window": None,
            "tie_word_embeddings": c.tie_word_embeddings,
            "num_experts": c.num_experts,
            "num_experts_per_tok": c.num_experts_per_tok,
            "moe_intermediate_size": c.moe_intermediate_size,
            "norm_topk_prob": c.norm_topk_prob,
            "decoder_sparse_step": 1,
            "mlp_only_layers": list(range(c.num_hidden_layers)) if c.dense else [],
            "intermediate_size": c.intermediate_size if c.dense else 0,
            "output_router_logits": False,
            "router_aux_loss_coef": c.router_aux_loss_coef,
            "initializer_range": c.init_std,
            "bos_token_id": c.bos_token_id,
            "eos_token_id": c.eos_token_id,
            "pad_token_id": c.pad_token_id,
            "use_cache": True,
            "dtype": "float32",
        }
        return dict(sorted(cfg.items()))


def count_params(cfg: ModelConfig) -> dict:
    """Total and per-token active parameters (same rule as src/checkpoint/modelSpec.ts countParams)."""
    h, v, L = cfg.hidden_size, cfg.vocab_size, cfg.num_hidden_layers
    qd, kvd = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim
    attn = h * qd + 2 * h * kvd + qd * h + 2 * cfg.head_dim + 2 * h
    emb = v * h + h + (0 if cfg.tie_word_embeddings else v * h)
    if cfg.dense:
        per = attn + 3 * h * cfg.intermediate_size
        return {"total": emb + L * per, "active": emb + L * per, "non_embedding_active": L * per}
    expert = 3 * h * cfg.moe_intermediate_size
    total = emb + L * (attn + cfg.num_experts * h + cfg.num_experts * expert)
    active_layer = attn + cfg.num_experts * h + cfg.num_experts_per_tok * expert
    return {"total": total, "active": emb + L * active_layer, "non_embedding_active": L * active_layer}
