/**
 * The model engine: Llama-family decoders (Llama-3, DeepSeek-math, SmolLM, Mistral, Qwen2) on DJL NDArrays,
 * with Hugging Face file formats so model folders and adapters move freely between ctlab and Python.
 *
 * <ul>
 *   <li>{@link ctlab.model.LlamaModel#load(java.nio.file.Path, ai.djl.Device)} reads {@code config.json}
 *       ({@link ctlab.model.LlamaConfig}), safetensors weights ({@link ctlab.model.Safetensors}; checked, stored
 *       and saved by {@code LlamaWeights}, with q|k|v and gate|up fused and the HF-named weights views of them) and
 *       {@code tokenizer.json} ({@link ctlab.model.Tokenizer}). The MLP activation follows {@code hidden_act}
 *       ({@link ctlab.model.LlamaConfig#ACTIVATIONS}; other names are refused), and a tied config whose file
 *       still holds a distinct {@code lm_head.weight} uses that head, as transformers does.</li>
 *   <li>Teacher forcing: {@link ctlab.model.LlamaModel#logits} (B,T,V) and the one per-token log-prob
 *       function {@link ctlab.model.LlamaModel#tokenLogProbs} (log_softmax + gather), with the shifted,
 *       masked convenience {@link ctlab.model.LlamaModel#sequenceLogProbs}.</li>
 *   <li>Generation: {@link ctlab.model.LlamaModel#newCache()}, {@link ctlab.model.LlamaModel#prefill} on a
 *       left-padded batch, then {@link ctlab.model.LlamaModel#step} one token per row, and
 *       {@link ctlab.model.KvCache#selectRows}/{@link ctlab.model.KvCache#appendRows} to share, drop and add rows (the
 *       cache is preallocated and written in place);
 *       the one decoding loop over these is {@code ctlab.sample.Sampler} (greedy too: {@code Sampler.greedy}).</li>
 *   <li>Training: {@link ctlab.model.LlamaModel#trainableParameters()} ({@link ctlab.model.Param}) are the
 *       LoRA matrices when {@link ctlab.model.Lora} adapters are active, else every weight;
 *       {@link ctlab.model.LlamaModel#setTraining} switches LoRA dropout on.</li>
 *   <li>{@link ctlab.model.Devices} picks cpu/gpu from {@code ctlab.device} / {@code CTLAB_DEVICE}.</li>
 * </ul>
 *
 * <p>Arrays returned by the forward functions attach to the manager of the input ids; the weights' manager
 * never grows during a forward pass.
 *
 * <p>On any path a GradientCollector records, multiply, divide or raise by a constant with
 * {@link ctlab.model.Scalars}, never DJL's {@code x.mul(Number)}/{@code div}/{@code pow}: those free the
 * scalar autograd keeps, and a GC before backward corrupts the gradient (docs/determinism.md). Likewise an
 * array kept beyond a call (the KV cache) must be a torch result, never a view of a caller's
 * {@code create(float[])} array: DJL's {@code toType(sameType, true)} is such a view, not a copy.
 *
 * <p>Change a base weight in place ({@code addi}, {@code set(NDIndex, NDArray)}), never with {@code set(Buffer)}:
 * DJL's {@code set(Buffer)} swaps the tensor's storage, and q/k/v/gate/up weights must keep sharing the fused
 * matrices the forward pass reads.
 */
package ctlab.model;
