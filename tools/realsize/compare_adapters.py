#!/usr/bin/env python3
"""Max |a - b| over the tensors of two PEFT adapters (adapter_model.safetensors), e.g. the adapters that
ctlab.bench.CheckpointingBench saves with activation checkpointing on and off (docs/real-size.md).

  python tools/realsize/compare_adapters.py DIR_A DIR_B
"""
import pathlib, sys

from safetensors.numpy import load_file

a = load_file(str(pathlib.Path(sys.argv[1]) / "adapter_model.safetensors"))
b = load_file(str(pathlib.Path(sys.argv[2]) / "adapter_model.safetensors"))
if a.keys() != b.keys():
    sys.exit("the adapters have different tensors")
worst = max((float(abs(a[k].astype("float64") - b[k].astype("float64")).max()), k) for k in sorted(a))
print(f"{len(a)} tensors, max |a - b| = {worst[0]:.3g} ({worst[1]})")
