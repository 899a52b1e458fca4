"""Golden fixtures for ctlab.train: torch.optim.AdamW + HF LR schedules + clip_grad_norm_.

Run with the reference venv (CI never runs this; it only reads the committed JSON):
    /work/pyref/bin/python tools/goldens/make_adamw_golden.py

Writes toolkit/src/test/resources/goldens/adamw_golden.json with, per scenario, the initial parameters,
the fixed gradient fed at each optimizer step, and what PyTorch produced after each step: the learning
rate used, clip_grad_norm_'s pre-clip total norm, and every parameter's value. Schedules come from
transformers' own get_*_schedule_with_warmup so the Java Schedule is checked against HF, not against a
re-derivation.
"""
import json
import math
import pathlib

import torch
import transformers
from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                          get_linear_schedule_with_warmup)

OUT = pathlib.Path(__file__).resolve().parents[2] / "toolkit/src/test/resources/goldens/adamw_golden.json"

SCHEDULES = {
    "linear": get_linear_schedule_with_warmup,
    "cosine": get_cosine_schedule_with_warmup,
    "constant": lambda opt, warmup, total: get_constant_schedule_with_warmup(opt, warmup),
}


def rounded(t):
    return [float(x) for x in t.detach().double().flatten().tolist()]


def scenario(name, seed, lr, betas, eps, weight_decay, schedule, warmup, total, max_norm, grad_scale):
    g = torch.Generator().manual_seed(seed)
    specs = [("w1", (3, 4), True), ("b1", (4,), False), ("w2", (2, 3), True), ("norm", (3,), False)]
    params = {n: torch.randn(shape, generator=g, dtype=torch.float32).requires_grad_(True) for n, shape, _ in specs}
    init = {n: rounded(p) for n, p in params.items()}
    decay = [params[n] for n, _, d in specs if d]
    no_decay = [params[n] for n, _, d in specs if not d]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=betas, eps=eps, foreach=False)
    sched = SCHEDULES[schedule](opt, warmup, total)
    steps = []
    for step in range(total):
        grads = {n: (torch.randn(shape, generator=g) * grad_scale[step]) for n, shape, _ in specs}
        for n, p in params.items():
            p.grad = grads[n].clone()
        lr_used = opt.param_groups[0]["lr"]
        if max_norm > 0:
            norm = float(torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm))
        else:
            norm = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params.values())))
        opt.step()
        sched.step()
        steps.append({"grads": {n: rounded(v) for n, v in grads.items()},
                      "lr": lr_used, "grad_norm": norm,
                      "params": {n: rounded(p) for n, p in params.items()}})
    return {"name": name, "lr": lr, "betas": list(betas), "eps": eps, "weight_decay": weight_decay,
            "schedule": schedule, "warmup_steps": warmup, "total_steps": total, "max_grad_norm": max_norm,
            "params": [{"name": n, "shape": list(s), "weight_decay": d, "init": init[n]} for n, s, d in specs],
            "steps": steps}


def schedule_table():
    """HF lr multipliers for a few (kind, warmup, total) and warmup_ratio resolutions."""
    rows = []
    for kind, fn in SCHEDULES.items():
        for warmup, total in [(0, 7), (3, 10), (10, 10), (4, 5)]:
            p = torch.nn.Parameter(torch.zeros(1))
            opt = torch.optim.SGD([p], lr=1.0)
            sched = fn(opt, warmup, total)
            factors = []
            for _ in range(total + 2):
                factors.append(opt.param_groups[0]["lr"])
                opt.step()
                sched.step()
            rows.append({"kind": kind, "warmup_steps": warmup, "total_steps": total, "factors": factors})
    ratios = [{"ratio": r, "total_steps": t, "warmup_steps": math.ceil(t * r)}
              for r, t in [(0.1, 95), (0.03, 1000), (0.0, 50), (0.5, 3)]]
    return rows, ratios


def main():
    scenarios = [
        # linear warmup (first step runs at lr 0, as HF does), clipping active on the big steps
        scenario("linear_warmup_clip", 1234, 1e-2, (0.9, 0.999), 1e-8, 0.1, "linear", 2, 5, 1.0,
                 [3.0, 0.5, 5.0, 0.1, 2.0]),
        # cosine decay, large eps and strong decay so both terms matter
        scenario("cosine_decay_eps", 99, 3e-2, (0.8, 0.95), 1e-3, 0.3, "cosine", 1, 5, 0.7,
                 [1.0, 1.0, 0.01, 4.0, 1.0]),
        # constant, no clipping
        scenario("constant_noclip", 7, 5e-3, (0.9, 0.99), 1e-8, 0.0, "constant", 0, 5, 0.0,
                 [1.0, 2.0, 0.5, 1.0, 3.0]),
    ]
    rows, ratios = schedule_table()
    doc = {"generator": "tools/goldens/make_adamw_golden.py", "torch": torch.__version__,
           "transformers": transformers.__version__, "scenarios": scenarios,
           "schedules": rows, "warmup_ratios": ratios}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
