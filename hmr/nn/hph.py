"""Human Prediction Head: one query per detected person, cross-attending to every image token.

Module and attribute names follow the released checkpoints' state-dict keys
(``x_attention_head.transformer.transformer.layers.{i}.{0,1,2}...``) so they load unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import torch
from torch import nn

#: additive attention bias for masked keys; finite so an image without persons gives no NaN
_MASKED = -1e4


class _PreNorm(nn.Module):
    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        return self.fn(self.norm(x), *args)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, bias: torch.Tensor | None) -> torch.Tensor:
    """Multi-head attention on ``(B, Lq, H*d)`` / ``(B, Lk, H*d)`` -> ``(B, Lq, H*d)``."""
    batch, len_q, inner = q.shape
    head_dim = inner // heads

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(batch, t.shape[1], heads, head_dim).transpose(1, 2)

    out = nn.functional.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=bias)
    return out.transpose(1, 2).reshape(batch, len_q, inner)


class _SelfAttention(nn.Module):
    """Attention among the persons of one image; padded persons are masked out as keys."""

    def __init__(self, dim: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, heads * head_dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(heads * head_dim, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        return self.to_out(_attend(q, k, v, self.heads, key_bias))


class _CrossAttention(nn.Module):
    """Person queries attend to all image tokens (plus their ray features)."""

    def __init__(self, dim: int, context_dim: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, heads * head_dim, bias=False)
        self.to_kv = nn.Linear(context_dim, heads * head_dim * 2, bias=False)
        self.to_out = nn.Sequential(nn.Linear(heads * head_dim, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        k, v = self.to_kv(context).chunk(2, dim=-1)
        return self.to_out(_attend(self.to_q(x), k, v, self.heads, None))


class _FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden, dim), nn.Dropout(0.0)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _Blocks(nn.Module):
    def __init__(self, dim: int, context_dim: int, depth: int, heads: int, head_dim: int, mlp_dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    _PreNorm(dim, _SelfAttention(dim, heads, head_dim)),
                    _PreNorm(dim, _CrossAttention(dim, context_dim, heads, head_dim)),
                    _PreNorm(dim, _FeedForward(dim, mlp_dim)),
                ]
            )
            for _ in range(depth)
        )

    def forward(self, x: torch.Tensor, context: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        # each layer is a ModuleList of (self-attention, cross-attention, feed-forward)
        for self_attn, cross_attn, feed_forward in cast("Iterable[nn.ModuleList]", self.layers):
            x = self_attn(x, key_bias) + x
            x = cross_attn(x, context) + x
            x = feed_forward(x) + x
        return x  # no final norm: the released decoders read the raw residual stream


class _TokenTransformer(nn.Module):
    def __init__(
        self, in_dim: int, dim: int, context_dim: int, depth: int, heads: int, head_dim: int, mlp_dim: int
    ) -> None:
        super().__init__()
        self.to_token_embedding = nn.Linear(in_dim, dim)
        self.pos_embedding = nn.Parameter(torch.zeros(1, 1, dim))
        self.transformer = _Blocks(dim, context_dim, depth, heads, head_dim, mlp_dim)


class HumanPredictionHead(nn.Module):
    """Cross-attention head: person queries -> one ``hph_dim`` token per person.

    ``init_*`` buffers hold the mean parameters the decoders' residuals are added to; for released
    checkpoints they come from the checkpoint (their 6D layout differs from ours), never rebuilt.
    """

    # buffers registered in __init__ from ``init_values`` (one ``init_<name>`` per decoded parameter)
    init_body_pose: torch.Tensor
    init_betas: torch.Tensor
    init_cam: torch.Tensor

    def __init__(
        self,
        context_dim: int,
        grid_size: int,
        dim: int,
        depth: int,
        heads: int,
        head_dim: int,
        mlp_dim: int,
        init_values: dict[str, torch.Tensor],
    ) -> None:
        super().__init__()
        for name, value in init_values.items():
            self.register_buffer(f"init_{name}", value.reshape(1, -1).clone())
        init_dim = sum(v.numel() for n, v in init_values.items() if n in ("body_pose", "betas", "cam"))
        self.cross_queries_x = nn.Parameter(torch.zeros(grid_size, context_dim))
        self.cross_queries_y = nn.Parameter(torch.zeros(grid_size, context_dim))
        self.cross_values_x = nn.Parameter(torch.zeros(grid_size, context_dim))
        self.cross_values_y = nn.Parameter(torch.zeros(grid_size, context_dim))
        self.transformer = _TokenTransformer(context_dim + init_dim, dim, context_dim, depth, heads, head_dim, mlp_dim)

    def forward(
        self, context: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        """Person tokens ``(B, P, dim)``.

        context: ``(B, h*w, C)`` tokens ++ ray features; rows, cols: ``(B, P)`` long cell indices of
        each person (any value where invalid); valid: ``(B, P)`` bool. A fixed ``P`` with a mask keeps
        shapes static for export; the eager path packs a variable count into the same layout.
        """
        batch, num_tokens, context_dim = context.shape
        grid = self.cross_queries_x.shape[0]
        cell = (rows * grid + cols).clamp(0, num_tokens - 1)
        gathered = torch.gather(context, 1, cell[..., None].expand(-1, -1, context_dim))
        queries = (
            gathered + self.cross_queries_x[rows.clamp(0, grid - 1)] + self.cross_queries_y[cols.clamp(0, grid - 1)]
        )
        weight = valid[..., None].to(context.dtype)
        cell_values = (
            self.cross_values_x[rows.clamp(0, grid - 1)] + self.cross_values_y[cols.clamp(0, grid - 1)]
        ) * weight
        context = context.scatter_add(1, cell[..., None].expand(-1, -1, context_dim), cell_values)

        num_persons = queries.shape[1]
        init = torch.cat([self.init_body_pose, self.init_betas, self.init_cam], dim=-1)
        tokens_in = torch.cat([queries, init.expand(batch, num_persons, -1)], dim=-1)
        tokens = self.transformer.to_token_embedding(tokens_in) + self.transformer.pos_embedding
        key_bias = torch.where(valid, 0.0, _MASKED).to(context.dtype)[:, None, None, :]
        return self.transformer.transformer(tokens, context, key_bias)
