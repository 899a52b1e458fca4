#!/usr/bin/env python3
"""PyTorch-eager reference for `ctlab bench`: the same Llama config measured with HF LlamaForCausalLM.

`ctlab bench` writes the model's config.json and launches this script once per thread setting, with the
thread environment (OMP_NUM_THREADS, MKL_NUM_THREADS, OMP_WAIT_POLICY) already set; a user can also run it
beside the Java side:

    OMP_WAIT_POLICY=PASSIVE python tools/bench/bench_torch.py --config config.json --threads 2

Phases (same definitions as the Java side, ctlab.bench.JavaEngineBench):
  forward     logits of a (batch, seq) batch under torch.no_grad()            tokens = batch*seq
  train       fwd + causal-LM CE + bwd + clip_grad_norm_(1.0) + AdamW step     tokens = batch*seq
  decode_bN   model.generate(greedy, KV cache) of `new` tokens after a prompt  tokens = N*new
  sample      pipeline-shaped sampling (--sample-spec, written by ctlab bench): the model folder it names
              (the organism's), its prompt ids left-padded, generate(do_sample=True, temperature, top_p,
              top_k=0, num_return_sequences=n, stop_strings, tokenizer) with the seed reset per iteration
              tokens = generated tokens (EOS and the token completing a stop string included)
Each phase: `warmup` untimed iterations, then `iters` timed ones; tokens/s of the fastest iteration (on a
shared machine contention only slows iterations down) and of the median one.
Peak RSS per phase: VmHWM from /proc/self/status after resetting it (echo 5 > /proc/self/clear_refs).

Prints one line `CTLAB_BENCH_RESULT <json>` per attention implementation (and a readable summary on stderr).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

RESULT_MARKER = "CTLAB_BENCH_RESULT "


def reset_peak_rss():
    """Resets the kernel's peak-RSS counter for this process; False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_mb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def measure(fn, warmup, iters, tokens_per_iter):
    """Runs fn warmup+iters times; tokens/s of the fastest and the median timed iteration, the phase's peak RSS."""
    can_reset = reset_peak_rss()
    for _ in range(warmup):
        fn()
    times = []
    cpu0 = time.process_time()   # all threads of the process, as ctlab's getProcessCpuTime
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    med = statistics.median(times)
    return {
        "tokens_per_s": tokens_per_iter / min(times),
        "tokens_per_s_median": tokens_per_iter / med,
        "median_s": med,
        "min_s": min(times),
        "max_s": max(times),
        "iters": iters,
        "warmup": warmup,
        "tokens_per_iter": tokens_per_iter,
        "tokens_per_cpu_s": tokens_per_iter * iters / cpu,
        "peak_rss_mb": rss_mb("VmHWM"),
        "peak_rss_scope": "phase" if can_reset else "process",
    }


def summarize_profile(prof, wall_ms, iters):
    """Self time per op, in the shape ctlab's side reports (ctlab.bench.OpProfile): only `ns::op` events count
    as time inside ops; user scopes (optimizer step, generate) are Python time and stay in the remainder."""
    def top_level(e):
        p = e.cpu_parent
        while p is not None:
            if "::" in p.name:
                return False
            p = p.cpu_parent
        return True

    top_calls = sum(1 for e in prof.events() if "::" in e.name and top_level(e))
    ops = [e for e in prof.key_averages() if "::" in e.key]
    in_ops_ms = sum(e.self_cpu_time_total for e in ops) / 1000.0
    ops.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    return {
        "iters": iters,
        "wall_ms_per_iter": wall_ms / iters,
        "in_ops_ms_per_iter": in_ops_ms / iters,
        "outside_ops_ms_per_iter": (wall_ms - in_ops_ms) / iters,
        "top_level_ops_per_iter": top_calls / iters,
        "ops": [{"op": e.key, "calls_per_iter": e.count / iters,
                 "self_ms_per_iter": e.self_cpu_time_total / 1000.0 / iters,
                 "total_ms_per_iter": e.cpu_time_total / 1000.0 / iters} for e in ops[:25]],
    }


def sample_phase(spec_file, attn, run_phase):
    """The sample phase on the spec's model folder, measured through run_phase (one untimed call counts tokens)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    with open(spec_file) as f:
        spec = json.load(f)
    from transformers.generation.stopping_criteria import StopStringCriteria
    original_clean = StopStringCriteria.clean_tokenizer_vocab

    def clean_vocab(tokenizer, *a, **kw):
        # HF finds each token's text by decoding it after "abcdef", which a word-level vocabulary (the organism's)
        # encodes as <unk>: ValueError. There a token's text is its vocabulary string (Fuse decoder), so use that
        # and keep HF's own vectorized stop-string matching.
        try:
            return original_clean(tokenizer, *a, **kw)
        except ValueError:
            vocab = tokenizer.get_vocab()
            return tuple(vocab.keys()), tuple(vocab.values())

    StopStringCriteria.clean_tokenizer_vocab = staticmethod(clean_vocab)
    model = AutoModelForCausalLM.from_pretrained(spec["model_dir"], attn_implementation=attn,
                                                 dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(spec["model_dir"])
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    rows = spec["prompt_ids"]
    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], dtype=torch.long)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], dtype=torch.long)
    counted = []

    def sample():
        torch.manual_seed(spec["seed"])
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=spec["temperature"],
                                 top_p=spec["top_p"], top_k=0, num_return_sequences=spec["n"],
                                 max_new_tokens=spec["max_new_tokens"], stop_strings=spec["stop"], tokenizer=tok,
                                 pad_token_id=pad, eos_token_id=model.config.eos_token_id, use_cache=True)
        # finished rows are padded with pad (never generated by the model): count the rest
        counted.append(int((out[:, width:] != pad).sum()))
        return out

    sample()
    tokens = counted[-1]
    run_phase("sample", sample, max(0, spec["warmup"] - 1), spec["iters"], tokens)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="HF config.json of the model (written by ctlab bench)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--prompt", type=int, default=16, help="prompt tokens for the decode phases")
    ap.add_argument("--new", type=int, default=64, help="generated tokens per row for the decode phases")
    ap.add_argument("--decode-batches", default="1,32")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--decode-iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave torch's default)")
    ap.add_argument("--interop-threads", type=int, default=1)
    ap.add_argument("--attn", default="sdpa,eager", help="HF attn_implementation(s) to measure, comma-separated")
    ap.add_argument("--phases", default="forward,train,decode")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--sample-spec", default="", help="JSON workload of the sample phase (ctlab.bench.SampleBench.Spec)")
    ap.add_argument("--profile", default="", help="phase to profile with torch.profiler (forward|train|decode_bN)")
    args = ap.parse_args()

    import torch
    if args.interop_threads > 0:
        torch.set_num_interop_threads(args.interop_threads)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    import transformers
    from transformers import LlamaConfig, LlamaForCausalLM

    with open(args.config) as f:
        cfg_dict = json.load(f)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    decode_batches = [int(b) for b in args.decode_batches.split(",") if b.strip()]

    settings = {
        "intra_op_threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "parallel_backend": "OpenMP" if "OpenMP" in torch.__config__.parallel_info() else "other",
    }
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__}

    for attn in [a.strip() for a in args.attn.split(",") if a.strip()]:
        torch.manual_seed(args.seed)
        config = LlamaConfig(**{k: v for k, v in cfg_dict.items() if k != "architectures"})
        config._attn_implementation = attn
        model = LlamaForCausalLM(config).float()
        model.generation_config.eos_token_id = None
        model.generation_config.pad_token_id = 0
        vocab = config.vocab_size
        gen = torch.Generator().manual_seed(args.seed)
        baseline = rss_mb("VmRSS")
        results = {}
        profiles = {}

        def run_phase(name, fn, warmup, iters, tokens):
            if args.profile == name:
                from torch.profiler import profile, ProfilerActivity
                for _ in range(warmup):
                    fn()
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    t0 = time.perf_counter()
                    for _ in range(iters):
                        fn()
                    wall_ms = (time.perf_counter() - t0) * 1000
                profiles[name] = summarize_profile(prof, wall_ms, iters)
            results[name] = measure(fn, warmup, iters, tokens)

        if "forward" in phases:
            model.eval()
            ids = torch.randint(0, vocab, (args.batch, args.seq), generator=gen)
            mask = torch.ones_like(ids)

            def forward():
                with torch.no_grad():
                    return model(input_ids=ids, attention_mask=mask).logits

            run_phase("forward", forward, args.warmup, args.iters, args.batch * args.seq)

        if "decode" in phases:
            model.eval()
            for b in decode_batches:
                prompt = torch.randint(0, vocab, (b, args.prompt), generator=gen)
                pmask = torch.ones_like(prompt)

                def decode():
                    out = model.generate(input_ids=prompt, attention_mask=pmask, max_new_tokens=args.new,
                                         do_sample=False, use_cache=True)
                    assert out.shape[1] == args.prompt + args.new, out.shape
                    return out

                run_phase("decode_b%d" % b, decode, args.warmup, args.decode_iters, b * args.new)

        if "train" in phases:
            model.train()
            decay = [p for n, p in model.named_parameters() if not (n.endswith("norm.weight") or n.endswith(".bias"))]
            no_decay = [p for n, p in model.named_parameters() if n.endswith("norm.weight") or n.endswith(".bias")]
            groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
            try:
                opt = torch.optim.AdamW(groups, lr=args.lr, fused=True)   # torch's fastest CPU AdamW
                opt_impl = "fused"
            except (RuntimeError, TypeError):
                opt = torch.optim.AdamW(groups, lr=args.lr)
                opt_impl = "default"
            batches = [torch.randint(0, vocab, (args.batch, args.seq), generator=gen) for _ in range(4)]
            step = [0]

            def train_step():
                ids = batches[step[0] % len(batches)]
                step[0] += 1
                loss = model(input_ids=ids, labels=ids).loss
                loss.backward()
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad(set_to_none=True)
                if not torch.isfinite(loss) or not torch.isfinite(norm):   # the NaN guard syncs, as ctlab's does
                    raise RuntimeError("non-finite loss or grad norm")
                return loss.item()

            run_phase("train", train_step, args.warmup, args.iters, args.batch * args.seq)
            settings["optimizer"] = "torch.optim.AdamW(%s)" % opt_impl

        if "sample" in phases and args.sample_spec:
            sample_phase(args.sample_spec, attn, run_phase)

        record = {
            "side": "torch",
            "variant": "HF LlamaForCausalLM attn=" + attn,
            "settings": settings,
            "versions": versions,
            "baseline_rss_mb": baseline,
            "phases": results,
        }
        if profiles:
            record["profile"] = profiles
        print(RESULT_MARKER + json.dumps(record), flush=True)
        for name, r in results.items():
            print("torch %-6s %-10s %12.0f tok/s  peak RSS %6.0f MB" % (attn, name, r["tokens_per_s"], r["peak_rss_mb"] or -1),
                  file=sys.stderr)
        for name, prof in profiles.items():
            print("profile of %s (attn=%s): %.2f ms/iter wall, %.2f ms in ops" % (
                name, attn, prof["wall_ms_per_iter"], prof["in_ops_ms_per_iter"]), file=sys.stderr)
            for op in prof["ops"]:
                print("  %-40s %8.1f calls %10.3f ms self" % (op["op"], op["calls_per_iter"], op["self_ms_per_iter"]),
                      file=sys.stderr)
        del model


if __name__ == "__main__":
    main()
