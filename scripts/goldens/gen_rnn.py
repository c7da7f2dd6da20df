#!/usr/bin/env python3
"""PyTorch goldens for ops::lstm and ops::gru (tests/framework/ops/test_rnn.cpp).

For each of LSTM and GRU: one unidirectional layer, one bidirectional layer, and a 2-layer
bidirectional stack (the C++ test composes it from two op calls). Each golden holds, in float32:

  x [B, T, I], r [B, T, D*H] (the fixed random weighting of the loss sum(r * y)), y [B, T, D*H],
  for each layer k: w_ih_l{k} [D, G*H, In], w_hh_l{k} [D, G*H, H], b_ih_l{k}, b_hh_l{k} [D, G*H]
  (PyTorch's weight_*_l{k} and weight_*_l{k}_reverse stacked on the first axis),
  gx, and the gradients gw_ih_l{k}, gw_hh_l{k}, gb_ih_l{k}, gb_hh_l{k} in the same layout.

Run with the Python that has python3-torch (Debian's): /usr/bin/python3 scripts/goldens/gen_rnn.py
"""
from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from golden_io import write_golden  # noqa: E402

B, T, I, H = 3, 5, 4, 6


def make(name: str, cell: str, bidirectional: bool, num_layers: int, seed: int) -> None:
    torch.manual_seed(seed)
    cls = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    rnn = cls(I, H, num_layers=num_layers, batch_first=True, bidirectional=bidirectional)
    d = 2 if bidirectional else 1
    x = torch.randn(B, T, I, requires_grad=True)
    r = torch.randn(B, T, d * H)
    y, _ = rnn(x)
    (r * y).sum().backward()

    tensors = {"x": x, "r": r, "y": y, "gx": x.grad}
    for k in range(num_layers):
        for torch_name, ours in (("weight_ih", "w_ih"), ("weight_hh", "w_hh"), ("bias_ih", "b_ih"), ("bias_hh", "b_hh")):
            params = [getattr(rnn, f"{torch_name}_l{k}")]
            if bidirectional:
                params.append(getattr(rnn, f"{torch_name}_l{k}_reverse"))
            tensors[f"{ours}_l{k}"] = torch.stack([p.detach() for p in params])
            tensors[f"g{ours}_l{k}"] = torch.stack([p.grad for p in params])
    comment = (
        f"scripts/goldens/gen_rnn.py: torch {torch.__version__}, nn.{cls.__name__}({I}, {H}, num_layers={num_layers}, "
        f"batch_first=True, bidirectional={bidirectional}), seed {seed}, loss sum(r * y)"
    )
    print(write_golden(name, tensors, comment))


def main() -> None:
    torch.set_default_dtype(torch.float32)
    make("lstm_uni", "lstm", False, 1, 11)
    make("lstm_bi", "lstm", True, 1, 12)
    make("lstm_2layer", "lstm", True, 2, 13)
    make("gru_uni", "gru", False, 1, 21)
    make("gru_bi", "gru", True, 1, 22)
    make("gru_2layer", "gru", True, 2, 23)


if __name__ == "__main__":
    main()
