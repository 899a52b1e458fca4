package ctlab.sample.remote;

import ctlab.model.Tokenizer;
import ctlab.sample.Generator;
import ctlab.sample.Sampler.Request;
import ctlab.sample.Sampler.Sample;
import ctlab.sample.SamplingParams;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Backend {@code openai}: samples from an OpenAI-compatible server through {@link OpenAiCompletions}, prompts
 * encoded by ctlab's {@link Tokenizer} and sent as ids (a rollout prefix is prompt ids + forced prefix ids).
 * The server's samples are not the local sampler's for the same seed; every other convention is the same.
 */
public final class RemoteGenerator implements Generator, AutoCloseable {
    private final OpenAiCompletions client;
    private final Tokenizer tokenizer;
    private final AtomicLong tokens = new AtomicLong();
    private OpenAiCompletions.ServerInfo info;
    private volatile String adapter;   // served LoRA name, null = the base model

    public RemoteGenerator(OpenAiCompletions client, Tokenizer tokenizer) {
        this.client = client;
        this.tokenizer = tokenizer;
    }

    @Override public Tokenizer tokenizer() { return tokenizer; }

    /**
     * Samples from a PEFT adapter folder from now on (null: the base model again): the server loads it under
     * {@code name} ({@link OpenAiCompletions#loadLoraAdapter}) and requests ask for that name.
     */
    public void useAdapter(String name, java.nio.file.Path dir) {
        if (dir != null) client.loadLoraAdapter(name, dir);
        adapter = dir == null ? null : name;
    }

    private String served() { return adapter != null ? adapter : client.model(); }

    @Override public List<List<Sample>> sample(List<Request> requests, List<SamplingParams> paramSets) {
        List<List<Sample>> out = new ArrayList<>();
        for (SamplingParams p : paramSets) {
            List<Sample> flat = new ArrayList<>();
            for (List<Sample> one : client.completeAll(served(), requests, p, null)) flat.addAll(one);
            count(flat);
            out.add(flat);
        }
        return out;
    }

    /** Consecutive rows of one request go as one request with n = their count; the indices are the caller's. */
    @Override public List<Sample> sampleSelected(List<Request> requests, int[] sampleIndices, SamplingParams params) {
        if (requests.size() != sampleIndices.length) throw new IllegalArgumentException("one sample index per request");
        List<Request> groups = new ArrayList<>();
        List<int[]> groupIndices = new ArrayList<>();
        for (int i = 0; i < requests.size(); ) {
            int j = i;
            while (j < requests.size() && requests.get(j).id().equals(requests.get(i).id())) j++;
            groups.add(requests.get(i));
            groupIndices.add(Arrays.copyOfRange(sampleIndices, i, j));
            i = j;
        }
        // one fan-out per group size (n is per call), results put back in row order
        Map<Integer, List<Integer>> bySize = new LinkedHashMap<>();
        for (int g = 0; g < groups.size(); g++) bySize.computeIfAbsent(groupIndices.get(g).length, k -> new ArrayList<>()).add(g);
        List<List<Sample>> perGroup = new ArrayList<>(java.util.Collections.nCopies(groups.size(), (List<Sample>) null));
        for (var e : bySize.entrySet()) {
            List<Request> reqs = e.getValue().stream().map(groups::get).toList();
            List<List<Sample>> got = client.completeAll(served(), reqs, params.withN(e.getKey()), null);
            for (int x = 0; x < reqs.size(); x++) perGroup.set(e.getValue().get(x), got.get(x));
        }
        List<Sample> out = new ArrayList<>(requests.size());
        for (int g = 0; g < groups.size(); g++) {
            int[] idx = groupIndices.get(g);
            List<Sample> got = perGroup.get(g);
            for (int j = 0; j < idx.length; j++) {
                Sample s = got.get(j);
                out.add(new Sample(s.requestId(), idx[j], s.tokenIds(), s.text(), s.logProbs(), s.finishReason(), s.stopString()));
            }
        }
        count(out);
        return out;
    }

    private void count(List<Sample> samples) {
        for (Sample s : samples) tokens.addAndGet(s.numTokens());
    }

    @Override public long tokensGenerated() { return tokens.get(); }

    /** backend, base URL, and the model name and version the server reported (asked once). */
    @Override public synchronized Map<String, Object> describe() {
        if (info == null) info = client.serverInfo();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backend", "openai");
        m.put("base_url", client.config().baseUrl().toString());
        m.put("server_model", info.model());
        m.put("server_version", info.version());
        return m;
    }

    @Override public void close() { client.close(); }
}
