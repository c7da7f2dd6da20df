#!/usr/bin/env python3
"""PyTorch golden for multitask/mmoe (tests/plugins/multitask/test_mmoe.cpp).

A small MMoE (Ma et al. 2018) in torch: E experts nn.Sequential(Linear(I, H), ReLU()), one gate
nn.Linear(I, E) per task with a softmax, out_t = sum_k gate_t[:, k] * expert_k(x). Parameter names
are attnlab's (experts.<k>.0.weight, gates.<t>.weight, ...), so the C++ test loads them by name.

The golden holds, in float32: x [B, I]; every parameter under its name; out<t> [B, H], gate<t> [B, E]
and the fixed random weighting r<t> [B, H] of the loss sum_t sum(r<t> * out<t>); grad.x and grad.<name>
for every parameter; meta_num_experts, meta_hidden, meta_tasks (one-element tensors).

Run with the Python that has python3-torch (Debian's): /usr/bin/python3 scripts/goldens/gen_mmoe.py
"""
from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from golden_io import write_golden  # noqa: E402

B, I, E, H, T = 4, 5, 3, 6, 2


class MMoE(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.experts = torch.nn.ModuleList(torch.nn.Sequential(torch.nn.Linear(I, H), torch.nn.ReLU()) for _ in range(E))
        self.gates = torch.nn.ModuleList(torch.nn.Linear(I, E) for _ in range(T))

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        e = torch.stack([expert(x) for expert in self.experts], dim=1)  # [B, E, H]
        gates = [torch.softmax(g(x), dim=-1) for g in self.gates]  # T x [B, E]
        return [torch.einsum("be,beh->bh", g, e) for g in gates], gates


def main() -> None:
    torch.manual_seed(31)
    model = MMoE()
    with torch.no_grad():
        for g in model.gates:  # sharper gates than the default init, so the mixture is not near uniform
            g.weight.mul_(3.0)
    x = torch.randn(B, I, requires_grad=True)
    outs, gates = model(x)
    rs = [torch.randn(B, H) for _ in range(T)]
    sum((r * o).sum() for r, o in zip(rs, outs)).backward()

    tensors: dict[str, object] = {"x": x}
    for name, p in model.named_parameters():
        tensors[name] = p
    for t in range(T):
        tensors[f"out{t}"] = outs[t]
        tensors[f"gate{t}"] = gates[t]
        tensors[f"r{t}"] = rs[t]
    tensors["grad.x"] = x.grad
    for name, p in model.named_parameters():
        tensors[f"grad.{name}"] = p.grad
    tensors["meta_num_experts"] = torch.tensor([E])
    tensors["meta_hidden"] = torch.tensor([H])
    tensors["meta_tasks"] = torch.tensor([T])
    comment = (
        f"scripts/goldens/gen_mmoe.py: torch {torch.__version__}, MMoE with {E} experts Sequential(Linear({I}, {H}), ReLU()), "
        f"{T} softmax gates Linear({I}, {E}) (weights x3), seed 31, loss sum_t sum(r_t * out_t)"
    )
    print(write_golden("mmoe", tensors, comment))


if __name__ == "__main__":
    main()
