#!/usr/bin/python3
"""PyTorch goldens for the sequence plugins of the model zoo: extractor/{cnn,mlp},
attention/{additive,target,user} and pooling/{max,attention_pool}.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/goldens/gen_seqparts.py
Writes tests/data/goldens/seq_<scenario>.txt. Each file holds the plugin's inputs x [B, T, D], mask [B, T]
(1 = real step; every row has at least one), query [B, Q] where used, every parameter as "p:<attnlab name>",
the output y, the fixed random r of the loss L = sum(r * y), and the gradients "gx", "gquery" and "g:<name>".
The formulas are written here from the papers with torch.nn.functional, independently of the C++ plugins; the
C++ tests (tests/plugins/*/test_*.cpp) load the parameters into the plugin and compare within 1e-4 relative.
"""
from __future__ import annotations

import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from golden_io import write_golden  # noqa: E402

B, T = 3, 5
COMMENT = f"scripts/goldens/gen_seqparts.py, torch {torch.__version__}"
# Row 0 full, row 1 left-padded (2 padding steps), row 2 right-padded (1 real step).
MASK = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.float32)


def uniform(*shape, bound):
    return ((torch.rand(*shape) * 2 - 1) * bound).requires_grad_()


def linear_params(params, name, n_in, n_out, bias=True):
    bound = 1 / math.sqrt(n_in)
    params[f"{name}.weight"] = uniform(n_out, n_in, bound=bound)
    if bias:
        params[f"{name}.bias"] = uniform(n_out, bound=bound)


def lin(params, name, x):
    return F.linear(x, params[f"{name}.weight"], params.get(f"{name}.bias"))


def masked_softmax(scores, allowed):
    """Softmax over the last axis where allowed == 1; rows without an allowed key get zero weights."""
    allowed = allowed.expand_as(scores)
    empty = (allowed.sum(-1, keepdim=True) == 0)
    s = scores.masked_fill(allowed == 0, float("-inf")).masked_fill(empty, 0.0)
    return torch.softmax(s, dim=-1) * (~empty)


def save(name, x, params, y, extra=None, query=None, mask=MASK, note=""):
    r = torch.randn_like(y)
    (r * y).sum().backward()
    tensors = {"x": x, "mask": mask}
    if query is not None:
        tensors["query"] = query
    tensors.update({f"p:{k}": v for k, v in params.items()})
    tensors.update({"y": y, "r": r, "gx": x.grad})
    if query is not None:
        tensors["gquery"] = query.grad
    tensors.update({f"g:{k}": v.grad for k, v in params.items()})
    tensors.update(extra or {})
    print(write_golden(f"seq_{name}", tensors, COMMENT + "\n" + note))


def cnn(name, d_in, kernels, channels, dilations, causal, act, note):
    x = torch.randn(B, T, d_in, requires_grad=True)
    params = {}
    cin = d_in
    for l, _ in enumerate(dilations):
        for k, ks in enumerate(kernels):
            bound = 1 / math.sqrt(cin * ks)
            params[f"layer{l}_branch{k}_weight"] = uniform(channels, cin, ks, bound=bound)
            params[f"layer{l}_branch{k}_bias"] = uniform(channels, bound=bound)
        cin = channels * len(kernels)
    m = MASK[:, None, :]
    h = x.transpose(1, 2)
    width = channels * len(kernels)
    for l, d in enumerate(dilations):
        inp = h * m
        ys = []
        for k, ks in enumerate(kernels):
            total = d * (ks - 1)
            left = total if causal else total // 2
            ys.append(F.conv1d(F.pad(inp, (left, total - left)), params[f"layer{l}_branch{k}_weight"],
                               params[f"layer{l}_branch{k}_bias"], dilation=d))
        y = act(torch.cat(ys, dim=1))
        h = y + inp if inp.shape[1] == width else y
    y = (h * m).transpose(1, 2)
    save(name, x, params, y, note=note)


def mlp():
    x = torch.randn(B, T, 6, requires_grad=True)
    params = {}
    linear_params(params, "layer0", 6, 7)
    linear_params(params, "layer1", 7, 5)
    y = lin(params, "layer1", torch.tanh(lin(params, "layer0", x)))
    save("mlp", x, params, y, note="extractor/mlp hidden [7, 5], tanh, activate_last false")


def additive_self():
    D, A = 8, 6
    x = torch.randn(B, T, D, requires_grad=True)
    params = {}
    linear_params(params, "w_q", D, A, bias=False)
    linear_params(params, "w_k", D, A)
    linear_params(params, "v", A, 1, bias=False)
    e = torch.tanh(lin(params, "w_q", x)[:, :, None, :] + lin(params, "w_k", x)[:, None, :, :])  # [B, T, T, A]
    scores = lin(params, "v", e).squeeze(-1)
    allowed = MASK[:, None, :] * torch.tril(torch.ones(T, T))
    # Queries whose visible keys are all padding (row 1, steps 0 and 1) get zero weights, as in the plugin.
    w = masked_softmax(scores, allowed)
    y = w @ x
    save("additive_self", x, params, y, extra={"weights": w.detach()},
         note="attention/additive query_from self, causal, attention_dim 6")


def additive_context():
    D, Q, A = 8, 6, 5
    x = torch.randn(B, T, D, requires_grad=True)
    q = torch.randn(B, Q, requires_grad=True)
    params = {}
    linear_params(params, "w_q", Q, A, bias=False)
    linear_params(params, "w_k", D, A)
    linear_params(params, "v", A, 1, bias=False)
    e = torch.tanh(lin(params, "w_q", q)[:, None, :] + lin(params, "w_k", x))  # [B, T, A]
    w = masked_softmax(lin(params, "v", e).squeeze(-1), MASK)
    y = (w[:, :, None] * x).sum(1)
    save("additive_context", x, params, y, query=q, extra={"weights": w.detach()},
         note="attention/additive query_from context, attention_dim 5, query_dim 6")


def target(name, D, Q, hidden, act, normalize):
    x = torch.randn(B, T, D, requires_grad=True)
    q = torch.randn(B, Q, requires_grad=True)
    params = {}
    if Q != D:
        linear_params(params, "query_proj", Q, D, bias=False)
    n_in = 4 * D
    for i, h in enumerate(hidden):
        linear_params(params, f"layer{i}", n_in, h)
        if act == "prelu":
            params[f"prelu{i}"] = (0.25 + 0.1 * torch.randn(h)).requires_grad_()
        n_in = h
    linear_params(params, "score", n_in, 1)
    qq = lin(params, "query_proj", q) if Q != D else q
    qq = qq[:, None, :].expand(B, T, D)
    h = torch.cat([qq, x, qq - x, qq * x], dim=-1)
    for i in range(len(hidden)):
        z = lin(params, f"layer{i}", h)
        h = torch.sigmoid(z) if act == "sigmoid" else torch.relu(z) if act == "relu" else torch.where(z >= 0, z, params[f"prelu{i}"] * z)
    a = lin(params, "score", h).squeeze(-1)
    w = masked_softmax(a / math.sqrt(D), MASK) if normalize == "softmax" else a * MASK
    y = (w[:, :, None] * x).sum(1)
    save(name, x, params, y, query=q, extra={"weights": w.detach()},
         note=f"attention/target dim {D}, query_dim {Q}, hidden {hidden}, {act}, normalize {normalize}")


def user():
    D, Q, A = 8, 6, 5
    x = torch.randn(B, T, D, requires_grad=True)
    u = torch.randn(B, Q, requires_grad=True)
    params = {}
    linear_params(params, "w_q", Q, A)
    linear_params(params, "w_k", D, A)
    q = torch.tanh(lin(params, "w_q", u))
    scores = torch.einsum("bta,ba->bt", lin(params, "w_k", x), q) / math.sqrt(A)
    w = masked_softmax(scores, MASK)
    y = (w[:, :, None] * x).sum(1)
    save("user", x, params, y, query=u, extra={"weights": w.detach()},
         note="attention/user attention_dim 5, query_activation tanh, key_bias true, query_dim 6")


def attention_pool():
    D, A = 8, 6
    x = torch.randn(B, T, D, requires_grad=True)
    params = {}
    linear_params(params, "proj", D, A)
    params["query"] = uniform(A, 1, bound=1 / math.sqrt(A))
    scores = (torch.tanh(lin(params, "proj", x)) @ params["query"]).squeeze(-1)
    w = masked_softmax(scores, MASK)
    y = (w[:, :, None] * x).sum(1)
    save("attention_pool", x, params, y, extra={"weights": w.detach()}, note="pooling/attention_pool attention_dim 6")


def max_pool():
    x = torch.randn(B, T, 8, requires_grad=True)
    y = x.masked_fill(MASK[:, :, None] == 0, float("-inf")).amax(dim=1)
    save("max_pool", x, {}, y, note="pooling/max")


def main():
    torch.manual_seed(4242)
    cnn("cnn_causal", 5, [2, 3], 4, [1, 2, 4], True, torch.relu,
        "extractor/cnn kernel_sizes [2, 3], channels 4, layers 3, dilation_growth 2, causal, relu, residual")
    cnn("cnn_same", 6, [4, 3], 3, [1, 3], False, F.gelu,
        "extractor/cnn kernel_sizes [4, 3], channels 3, layers 2, dilations [1, 3], same padding, gelu, residual")
    mlp()
    additive_self()
    additive_context()
    target("target_none", 8, 6, [7, 5], "sigmoid", "none")
    target("target_softmax", 8, 8, [6], "prelu", "softmax")
    user()
    attention_pool()
    max_pool()


if __name__ == "__main__":
    main()
