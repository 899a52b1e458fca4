#!/usr/bin/env python3
"""Scripts the two kernels DJL 0.36 does not bind and saves them as TorchScript files for the toolkit jar.

    /work/pyref-h3/bin/python tools/torchscript/make_kernels.py \
        [--out toolkit/src/main/resources/ctlab/model/kernels]

Use the torch of the JNI's libtorch (2.7.1 for DJL 0.36's pytorch-jni 2.7.1-0.36.0): a file saved by a newer
torch may use operators the JNI's libtorch cannot load. The version that wrote the files goes into VERSION
next to them. The files hold code only (no parameters), a few kB each.

Kernels (ctlab.model.TorchScriptKernels calls their forward with isTrain = true, so they run under the
caller's grad mode and DJL's GradientCollector records through them):
  silu_mul.pt     silu(gate) * up                                     the SwiGLU MLP (torch's fused silu)
  sdpa.pt         scaled_dot_product_attention(q, k, v), no mask      decode steps of unpadded batches
  sdpa_bias.pt    scaled_dot_product_attention(q, k, v, attn_mask)    additive float bias (B, 1, T, S): causal,
                                                                      padding, sliding window, as ctlab builds it
q arrives already multiplied by 1/sqrt(D) (ctlab's pure path does the same), so scale=1.0. Grouped-query
attention: q (B, NH, T, D) with k, v (B, KV, S, D), NH = G * KV; when NH != KV the kernel repeats k and v per
group (torch 2.7's CPU flash kernel does not take enable_gqa). For T = 1 ctlab passes q as (B, KV, G, D) (the
G query heads of a KV group as G query rows), which needs no repeat and no causal mask.
"""
import argparse
import os
import zipfile
from typing import Tuple

import torch
import torch.nn.functional as F


class SiluMul(torch.nn.Module):
    def forward(self, gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
        return F.silu(gate) * up


def _repeat_kv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    g = q.size(1) // k.size(1)
    if g != 1:
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
    return k, v


class Sdpa(torch.nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        k, v = _repeat_kv(q, k, v)
        return F.scaled_dot_product_attention(q, k, v, scale=1.0)


class SdpaBias(torch.nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        k, v = _repeat_kv(q, k, v)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)


KERNELS = {"silu_mul.pt": SiluMul, "sdpa.pt": Sdpa, "sdpa_bias.pt": SdpaBias}


def strip_debug_info(path: str) -> None:
    """Drops the *.debug_pkl records and .data/serialization_id, so the files' bytes do not depend on where the
    checkout and the venv are: the debug records hold the absolute paths of this script and of torch's own
    sources, and the id is made per save. torch.jit.load needs neither (the debug records only map errors back
    to source lines). The zip is rewritten with the same entry order and fixed timestamps."""
    with zipfile.ZipFile(path) as z:
        entries = [(i, z.read(i.filename)) for i in z.infolist() if not i.filename.endswith((".debug_pkl", "/.data/serialization_id"))]
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
        for info, data in entries:
            out = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(out, data)
    os.replace(tmp, path)


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, "..", "..", "toolkit", "src", "main", "resources", "ctlab", "model", "kernels"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=default_out, help="output folder (default: the toolkit's resources)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, cls in KERNELS.items():
        m = torch.jit.script(cls().eval())
        path = os.path.join(args.out, name)
        m.save(path)
        strip_debug_info(path)
        print(f"{path}: {os.path.getsize(path)} bytes")
    with open(os.path.join(args.out, "VERSION"), "w") as f:
        f.write(f"torch {torch.__version__}\nscript tools/torchscript/make_kernels.py\n")


if __name__ == "__main__":
    main()
