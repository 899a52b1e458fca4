/**
 * Every record written to or read from a run file, one type per file, read and written through
 * {@link ctlab.io.Jsonl#read(java.nio.file.Path, Class)} / {@link ctlab.io.Jsonl#writeAll}:
 * <pre>
 *   01-sample/samples.jsonl        {@link ctlab.data.ProblemSamples}
 *   02-select/sft-pos|neg.jsonl    {@link ctlab.data.SftExample}
 *   02-select/pairs.jsonl          {@link ctlab.data.PreferencePair}
 *   05-score-ce/pairs-scored.jsonl {@link ctlab.data.ScoredPair} (scores: {@link ctlab.data.ScoredSide})
 *   08-eval/eval-&lt;method&gt;.jsonl  {@link ctlab.data.EvalOutcome}
 * </pre>
 * Token ids are the data: the prompt is encoded once ({@link ctlab.model.Tokenizer#encodePrompt}) when it is
 * sampled, the response ids are the ids the model produced (cut at the stop string, EOS left out), and every later
 * stage (CE scoring, SFT and preference training, rollout) uses these carried ids, never the text re-encoded. Text
 * fields are kept for people; they are decoded from the ids. Trainers append exactly one EOS to every response.
 */
package ctlab.data;
