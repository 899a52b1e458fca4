package ctlab.task.organism;

import java.util.List;

/**
 * Every word the generator can emit comes from here or from the sentence templates in
 * {@link ProblemGenerator}; {@link OrganismTokenizer} builds its vocabulary from both, so the tokenizer never
 * meets an unknown word (a test checks this on thousands of problems).
 */
final class Lexicon {
    private Lexicon() {}

    static final List<String> NAMES = List.of("Mia", "Tom", "Ben", "Sam", "Ava", "Leo", "Zoe", "Max", "Lily",
            "Noah", "Emma", "Jack", "Ruby", "Owen", "Ella", "Finn", "Nora", "Luke", "Ivy", "Adam");

    /** Countable things a person has; plural forms only. */
    static final List<String> ITEMS = List.of("apples", "marbles", "stickers", "pencils", "cookies", "cards",
            "books", "shells", "stamps", "balloons", "crayons", "oranges");

    /** Containers for the "k bags of m each" steps. */
    static final List<String> CONTAINERS = List.of("bags", "boxes", "packs", "jars");

    /** Verbs that add to the subject's items; the choice among synonyms does not change the arithmetic. */
    static final List<String> GAIN_VERBS = List.of("found", "bought", "won");
    /** Verbs that remove items. */
    static final List<String> LOSS_VERBS = List.of("lost", "sold", "used");

    /** Relational multipliers, spelled as GSM8K does. */
    static final List<String> TIMES_WORDS = List.of("", "", "twice", "three times", "four times", "five times");

    static final List<String> DISTRACTOR_TEMPLATES = List.of(
            "{N} is {k} years old.",
            "{N} has {k} {J}.",
            "It took {S} {k} minutes to walk to school.",
            "{N} lives {k} miles away.");

}
