#!/usr/bin/python3
"""PyTorch 1.13 reference values for framework/optim -> tests/data/goldens/optim_*.txt.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 scripts/goldens/gen_optim.py

optim_<config>.txt   one optimizer configuration run for STEPS steps on two parameters of shapes
                     [3, 4] and [5] from fixed values with a fixed sequence of gradients:
                       init.<p>          initial value of parameter p
                       grad.<s>.<p>      gradient of parameter p at step s (absent: no gradient, skipped)
                       param.<s>.<p>     parameter p after step s
                       hp.<name>         the hyperparameters, which the C++ test checks against its own table
optim_clip.txt       torch.nn.utils.clip_grad_norm_ cases: case<k>.grad.<p> (absent: no gradient),
                     case<k>.max_norm, case<k>.norm (returned), case<k>.clipped.<p>
optim_schedules.txt  learning rate used by update t (t = 0, 1, ...) under StepLR, CosineAnnealingLR and
                     LinearLR -> CosineAnnealingLR through SequentialLR: <name>.lr and <name>.hp.*
"""
from __future__ import annotations

import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_io import write_golden  # noqa: E402

SHAPES = [(3, 4), (5,)]
STEPS = 5
# Gradient scale per step: the changes in magnitude exercise AMSGrad's running maximum.
GRAD_SCALE = [1.0, 0.5, 2.0, 0.1, 1.5]

# name -> (optimizer class, keyword arguments, {(step, param)} left without a gradient)
CONFIGS = {
    "sgd": (torch.optim.SGD, dict(lr=0.1), set()),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), set()),
    "sgd_dampening": (torch.optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.02), {(0, 1), (3, 0)}),
    "adam": (torch.optim.Adam, dict(lr=0.01), set()),
    "adam_wd": (torch.optim.Adam, dict(lr=0.01, weight_decay=0.1), set()),
    "adam_amsgrad": (torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.95), amsgrad=True), set()),
    "adam_skip": (torch.optim.Adam, dict(lr=0.01, eps=1e-6), {(1, 1), (2, 1)}),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1), set()),
    "adamw_amsgrad": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.05, amsgrad=True), {(0, 0)}),
}


def initial_values(gen: torch.Generator) -> list[torch.Tensor]:
    # Magnitudes in [0.5, 2] with random signs keep parameters away from 0, where a relative
    # tolerance would be meaningless.
    out = []
    for shape in SHAPES:
        mag = 0.5 + 1.5 * torch.rand(shape, generator=gen)
        sign = torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0)
        out.append(mag * sign)
    return out


def gradients(gen: torch.Generator) -> list[list[torch.Tensor]]:
    return [[GRAD_SCALE[s] * torch.randn(shape, generator=gen) for shape in SHAPES] for s in range(STEPS)]


def hyperparameters(cls, kw: dict) -> dict[str, float]:
    d = dict(cls([torch.zeros(1, requires_grad=True)], **kw).defaults)
    hp = {"lr": d["lr"], "weight_decay": d["weight_decay"]}
    if cls is torch.optim.SGD:
        hp.update(momentum=d["momentum"], dampening=d["dampening"], nesterov=float(d["nesterov"]))
    else:
        hp.update(beta1=d["betas"][0], beta2=d["betas"][1], eps=d["eps"], amsgrad=float(d["amsgrad"]))
    return hp


def run_config(name: str, cls, kw: dict, skip: set) -> None:
    gen = torch.Generator().manual_seed(1234)
    init = initial_values(gen)
    grads = gradients(gen)
    params = [torch.nn.Parameter(v.clone()) for v in init]
    opt = cls(params, **kw)
    out = {f"init.{p}": v for p, v in enumerate(init)}
    for s in range(STEPS):
        opt.zero_grad(set_to_none=True)
        for p, param in enumerate(params):
            if (s, p) not in skip:
                param.grad = grads[s][p].clone()
                out[f"grad.{s}.{p}"] = grads[s][p]
        opt.step()
        for p, param in enumerate(params):
            out[f"param.{s}.{p}"] = param.detach().clone()
    for k, v in hyperparameters(cls, kw).items():
        out[f"hp.{k}"] = torch.tensor(v, dtype=torch.float64)
    write_golden(f"optim_{name}", out, comment=f"scripts/goldens/gen_optim.py, torch {torch.__version__}\n{cls.__name__}({kw})")


def run_clip() -> None:
    gen = torch.Generator().manual_seed(99)
    cases = [  # (max_norm, which params have a gradient, gradient scale)
        (1.0, [0, 1], 1.0),    # clipped
        (100.0, [0, 1], 1.0),  # not clipped: grads unchanged
        (0.5, [1], 3.0),       # one parameter without a gradient
    ]
    out = {}
    for k, (max_norm, have, scale) in enumerate(cases):
        params = [torch.nn.Parameter(torch.zeros(shape)) for shape in SHAPES]
        for p in have:
            g = scale * torch.randn(SHAPES[p], generator=gen)
            params[p].grad = g.clone()
            out[f"case{k}.grad.{p}"] = g
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        out[f"case{k}.max_norm"] = torch.tensor(max_norm, dtype=torch.float64)
        out[f"case{k}.norm"] = norm
        for p in have:
            out[f"case{k}.clipped.{p}"] = params[p].grad
    write_golden("optim_clip", out, comment=f"scripts/goldens/gen_optim.py, torch {torch.__version__}\nclip_grad_norm_")


def lr_sequence(make, base_lr: float, n: int) -> torch.Tensor:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = make(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(lrs, dtype=torch.float64)


def f64(v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


def run_schedules() -> None:
    S = torch.optim.lr_scheduler
    # SequentialLR itself calls step(0) on the second scheduler, which warns about the epoch argument.
    warnings.filterwarnings("ignore", message="The epoch parameter")
    out = {
        "step.lr": lr_sequence(lambda o: S.StepLR(o, step_size=3, gamma=0.5), 0.1, 12),
        "step.hp.base_lr": f64(0.1), "step.hp.step_size": f64(3), "step.hp.gamma": f64(0.5),
        "cosine.lr": lr_sequence(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 0.1, 11),
        "cosine.hp.base_lr": f64(0.1), "cosine.hp.total_steps": f64(10),
        "cosine.hp.min_lr": f64(0.001),
        "warmup.lr": lr_sequence(
            lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, total_iters=4),
                                         S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)], milestones=[4]), 0.1, 15),
        "warmup.hp.base_lr": f64(0.1), "warmup.hp.warmup_steps": f64(4),
        "warmup.hp.start_factor": f64(0.25), "warmup.hp.total_steps": f64(10),
        "warmup.hp.min_lr": f64(0.001),
    }
    write_golden("optim_schedules", out, comment=f"scripts/goldens/gen_optim.py, torch {torch.__version__}\n"
                 "lr used by update t, t = 0, 1, ...")


def main() -> None:
    torch.set_default_dtype(torch.float32)
    for name, (cls, kw, skip) in CONFIGS.items():
        run_config(name, cls, kw, skip)
    run_clip()
    run_schedules()


if __name__ == "__main__":
    main()
