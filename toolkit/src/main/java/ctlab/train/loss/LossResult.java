package ctlab.train.loss;

import ai.djl.ndarray.NDArray;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A loss value and its logged metrics.
 *
 * @param loss    scalar, differentiable with respect to the policy log-probs
 * @param metrics TRL's names and meanings: {@code rewards/chosen} and {@code rewards/rejected} are batch means of
 *                β·Σ_t Δ_t, {@code rewards/accuracies} the fraction of pairs with chosen reward &gt; rejected reward,
 *                {@code rewards/margins} the mean difference, {@code logps/chosen}/{@code logps/rejected} the mean
 *                summed policy log-probs; variants add their own ({@code nll}, {@code kl/chosen}, ...)
 */
public record LossResult(NDArray loss, Map<String, Double> metrics) {
    public LossResult {
        metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    }

    public double lossValue() { return loss.getFloat(); }

    public double metric(String name) {
        Double v = metrics.get(name);
        if (v == null) throw new IllegalArgumentException("no metric '" + name + "'; have " + metrics.keySet());
        return v;
    }
}
