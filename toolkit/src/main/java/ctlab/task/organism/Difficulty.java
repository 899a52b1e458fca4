package ctlab.task.organism;

import ctlab.CtlabException;

/**
 * Knobs of the organism's problem generator.
 *
 * @param minSteps       fewest arithmetic steps in a problem (each step is one sentence of the story)
 * @param maxSteps       most steps
 * @param maxStart       largest starting quantity
 * @param maxOperand     largest number a step adds, removes, multiplies by or counts groups of
 * @param maxValue       no intermediate or final quantity exceeds this
 * @param distractorRate chance, after each sentence of the story, of a sentence with an irrelevant number
 */
public record Difficulty(int minSteps, int maxSteps, int maxStart, int maxOperand, int maxValue,
                         double distractorRate) {
    public Difficulty {
        if (minSteps < 1 || maxSteps > 6 || minSteps > maxSteps)
            throw new CtlabException("difficulty: steps must satisfy 1 <= minSteps <= maxSteps <= 6, got "
                    + minSteps + ".." + maxSteps);
        if (maxStart < 4) throw new CtlabException("difficulty: maxStart must be >= 4, got " + maxStart);
        if (maxOperand < 2) throw new CtlabException("difficulty: maxOperand must be >= 2, got " + maxOperand);
        if (maxValue < maxStart)
            throw new CtlabException("difficulty: maxValue (" + maxValue + ") must be >= maxStart (" + maxStart + ")");
        if (!(distractorRate >= 0 && distractorRate <= 1))
            throw new CtlabException("difficulty: distractorRate must be in [0, 1], got " + distractorRate);
    }

    /**
     * The default organism: 2–4 steps, start <= 18, operands <= 9, values <= 75, a distractor in about a quarter
     * of the sentence gaps. The number ranges set the base model's accuracy: with the standard recipe, values
     * <= 99 / start <= 20 gave 36% greedy, <= 60 / <= 15 gave 77%, these 48%.
     */
    public static Difficulty standard() { return new Difficulty(2, 4, 18, 9, 75, 0.25); }

    /** A smaller variant for quick tests. */
    public static Difficulty easy() { return new Difficulty(2, 2, 12, 5, 40, 0.0); }
}
