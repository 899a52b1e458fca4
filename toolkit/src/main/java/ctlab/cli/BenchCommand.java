package ctlab.cli;

import ctlab.CtlabException;
import ctlab.bench.BenchConfig;
import ctlab.bench.BenchReport;
import ctlab.bench.EngineBench;
import ctlab.bench.JavaEngineBench;
import ctlab.bench.KernelBench;
import ctlab.bench.SampleBench;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.bench.ThreadSetting;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.model.TorchScriptKernels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** {@code ctlab bench}: engine throughput and peak RSS, ctlab vs PyTorch eager side by side (see BENCHMARKS.md). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks the engine: forward, train step (fwd+bwd+AdamW) and KV-cache decode tokens/s and "
                + "peak RSS, ctlab vs PyTorch eager (HF LlamaForCausalLM via tools/bench/bench_torch.py), each side in "
                + "fresh processes per thread setting, compared at its best setting."})
public final class BenchCommand implements Callable<Integer> {
    @Option(names = "--layers", defaultValue = "2") int layers;
    @Option(names = "--hidden", defaultValue = "128") int hidden;
    @Option(names = "--heads", defaultValue = "4") int heads;
    @Option(names = "--kv-heads", defaultValue = "4") int kvHeads;
    @Option(names = "--intermediate", defaultValue = "512") int intermediate;
    @Option(names = "--vocab", defaultValue = "512") int vocab;
    @Option(names = "--batch", defaultValue = "32", description = "forward/train batch rows (default ${DEFAULT-VALUE})") int batch;
    @Option(names = "--seq", defaultValue = "128", description = "forward/train tokens per row (default ${DEFAULT-VALUE})") int seq;
    @Option(names = "--prompt", defaultValue = "16", description = "decode prompt tokens (default ${DEFAULT-VALUE})") int prompt;
    @Option(names = "--new-tokens", defaultValue = "64", description = "decode new tokens per row (default ${DEFAULT-VALUE})") int newTokens;
    @Option(names = "--decode-batches", defaultValue = "1,32", split = ",") int[] decodeBatches;
    @Option(names = "--warmup", defaultValue = "3") int warmup;
    @Option(names = "--iters", defaultValue = "10", description = "timed forward/train iterations (default ${DEFAULT-VALUE})") int iters;
    @Option(names = "--decode-iters", defaultValue = "5") int decodeIters;
    @Option(names = "--seed", defaultValue = "1234") long seed;
    @Option(names = "--settings", defaultValue = "2:PASSIVE,2,1",
            description = "thread settings, each THREADS[:PASSIVE|:ACTIVE] (no policy: OMP_WAIT_POLICY unset); default ${DEFAULT-VALUE}")
    String settings;
    @Option(names = "--rounds", defaultValue = "1", description = "repeat the whole sweep; the fastest iteration over "
            + "all rounds counts (default ${DEFAULT-VALUE})") int rounds;
    @Option(names = "--python", description = "Python with torch + transformers for the reference "
            + "(default: $CTLAB_BENCH_PYTHON, else python3)") String python;
    @Option(names = "--no-python", description = "measure ctlab only") boolean noPython;
    @Option(names = "--torch-script", description = "path of bench_torch.py (default: tools/bench of this checkout)") Path torchScript;
    @Option(names = "--torch-attn", defaultValue = "sdpa,eager", description = "HF attention implementations to try (default ${DEFAULT-VALUE})")
    String torchAttn;
    @Option(names = "--profile", defaultValue = "", description = "also profile this phase on both sides (forward, train, decode_b1, ...)")
    String profile;
    @Option(names = "--json", description = "also write every number to this JSON file") Path json;
    @Option(names = "--timeout-min", defaultValue = "30", description = "per worker process (default ${DEFAULT-VALUE})") int timeoutMin;
    @Option(names = "--phases", defaultValue = "forward,decode,train,sample", split = ",",
            description = "phases to measure (forward, decode and train run together; sample = pipeline-shaped "
                    + "sampling on --sample-model); default ${DEFAULT-VALUE}") java.util.List<String> phases;
    @Option(names = "--sample-model", description = "model folder of the sample phase (default: models/organism-base "
            + "of this checkout)") Path sampleModel;
    @Option(names = "--sample-iters", defaultValue = "2", description = "timed generations of the sample phase "
            + "(default ${DEFAULT-VALUE}, after 1 warmup)") int sampleIters;
    @Option(names = "--kernels-ab", description = "the TorchScript kernel experiment instead (issue #12): pure DJL vs "
            + "torch's silu/SDPA through TorchScript, per op and forward/decode/train, both in this process with its "
            + "thread settings, iterations alternated, --rounds times the iterations; no PyTorch reference") boolean kernelsAb;
    @Option(names = "--worker", hidden = true, description = "internal: measure the ctlab side in this process") Path worker;
    @Option(names = "--sample-spec", hidden = true, description = "internal: the sample phase's workload") Path sampleSpec;

    @Override
    public Integer call() throws IOException {
        if (worker != null) {
            BenchConfig c = Jsonl.MAPPER.readValue(Files.readString(worker), BenchConfig.class);
            ObjectNode result = phases.stream().anyMatch(EngineBench.ENGINE_PHASES::contains)
                    ? new JavaEngineBench(c, profile).run() : JavaEngineBench.header();
            if (sampleSpec != null) {
                var spec = Jsonl.MAPPER.readValue(Files.readString(sampleSpec), SampleBench.Spec.class);
                ((ObjectNode) result.path("phases")).set(SampleBench.PHASE, SampleBench.run(spec));
            }
            System.out.println(EngineBench.RESULT_MARKER + Jsonl.MAPPER.writeValueAsString(result));
            return 0;
        }
        TorchScriptKernels.Mode.fromProperty();   // a wrong -Dctlab.kernels fails here, not in each worker
        BenchConfig config = new BenchConfig(layers, hidden, heads, kvHeads, intermediate, vocab, batch, seq, prompt,
                newTokens, Arrays.stream(decodeBatches).boxed().toList(), warmup, iters, decodeIters, seed);
        if (kernelsAb) {
            ObjectNode r = KernelBench.run(config, rounds, System.err);
            System.out.print(KernelBench.render(r));
            if (json != null) {
                AtomicFiles.writeString(json, r.toPrettyString());
                System.out.println("\nwrote " + json);
            }
            return 0;
        }
        if (timeoutMin <= 0) throw new CtlabException("bench: --timeout-min must be > 0");
        String py = noPython ? null : python != null ? python
                : System.getenv("CTLAB_BENCH_PYTHON") != null ? System.getenv("CTLAB_BENCH_PYTHON") : "python3";
        if (sampleIters < 1) throw new CtlabException("bench: --sample-iters must be >= 1, got " + sampleIters);
        SampleBench.Spec spec = null;
        if (phases.contains(SampleBench.PHASE)) {
            Path dir = sampleModel != null ? sampleModel : EngineBench.findInCheckout("models/organism-base");
            if (dir == null) throw new CtlabException("bench: models/organism-base not found next to this build (give --sample-model)");
            spec = SampleBench.organism(dir, 16, 1, sampleIters, seed);
        }
        EngineBench.Options o = new EngineBench.Options(config, ThreadSetting.parseList(settings), py, torchScript,
                torchAttn, profile, EngineBench.inheritedJvmArgs(), Duration.ofMinutes(timeoutMin), rounds, phases, spec);
        BenchReport report = EngineBench.run(o, System.err);
        System.out.print(report.render());
        if (json != null) {
            AtomicFiles.writeString(json, report.toJson().toPrettyString());
            System.out.println("\nwrote " + json);
        }
        return 0;
    }

}
