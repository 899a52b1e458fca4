package ctlab.train;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import ctlab.CtlabException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Learning-rate multiplier per optimizer step with Hugging Face semantics: {@code factor(step)} equals the
 * lambda of {@code transformers.get_{linear,cosine,constant}_schedule_with_warmup}, evaluated at the
 * number of optimizer steps already taken (so with warmup the first step runs at lr 0, exactly as an HF
 * {@code LambdaLR} does). The learning rate of step {@code s} is {@code baseLr * factor(s)}.
 */
public record Schedule(Kind kind, int warmupSteps, int totalSteps) {

    /** Decay after warmup. {@code CONSTANT} is HF's {@code constant_with_warmup} (plain constant when warmup = 0). */
    public enum Kind {
        LINEAR, COSINE, CONSTANT;

        @JsonValue public String id() { return name().toLowerCase(Locale.ROOT); }

        @JsonCreator public static Kind parse(String s) {
            for (Kind k : values()) if (k.id().equalsIgnoreCase(s.trim())) return k;
            throw new CtlabException("unknown schedule '" + s + "' (expected one of "
                    + Arrays.stream(values()).map(Kind::id).collect(Collectors.joining(", ")) + ")");
        }
    }

    public Schedule {
        if (kind == null) throw new IllegalArgumentException("schedule kind is null");
        if (warmupSteps < 0) throw new IllegalArgumentException("warmupSteps < 0: " + warmupSteps);
        if (totalSteps < 1) throw new IllegalArgumentException("totalSteps < 1: " + totalSteps);
    }

    /** HF {@code TrainingArguments.get_warmup_steps}: explicit steps win, else {@code ceil(total * ratio)}. */
    public static int resolveWarmup(int warmupSteps, double warmupRatio, int totalSteps) {
        return warmupSteps > 0 ? warmupSteps : (int) Math.ceil(totalSteps * warmupRatio);
    }

    /** Multiplier of the base learning rate for the optimizer step that follows {@code step} completed ones. */
    public double factor(int step) {
        if (step < warmupSteps) return (double) step / Math.max(1, warmupSteps);
        double decaySteps = Math.max(1, totalSteps - warmupSteps);
        return switch (kind) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (totalSteps - step) / decaySteps);
            // HF: 0.5 * (1 + cos(pi * 2 * num_cycles * progress)) with num_cycles = 0.5, floored at 0
            case COSINE -> Math.max(0.0, 0.5 * (1.0 + StrictMath.cos(Math.PI * 2.0 * 0.5 * ((step - warmupSteps) / decaySteps))));
        };
    }
}
