package ctlab.analysis;

import java.util.Locale;
import java.util.Set;

/**
 * Coarse lexical class of a response token, for asking which kinds of tokens are critical (the paper's
 * examples are verbs such as "owed" and numbers). Rules, applied to the token text with surrounding
 * whitespace and sub-word markers (Ġ, ▁) removed:
 * <ul>
 *   <li>{@link #DIGIT}: one decimal digit (tokenizers that split numbers into digits produce these);</li>
 *   <li>{@link #NUMBER}: several digits, optionally with one decimal point or thousands commas;</li>
 *   <li>{@link #OPERATOR}: only arithmetic / comparison symbols ({@code + - * / × ÷ = < > ^ % ( )});</li>
 *   <li>{@link #RELATION_WORD}: a word from a fixed list of quantity relations (more, less, than, each, per,
 *       times, twice, half, total, left, ...);</li>
 *   <li>{@link #VERB}: a word from a fixed list of verbs common in math word problems (buys, sold, owed, ...);</li>
 *   <li>{@link #OTHER}: everything else, including whitespace and punctuation.</li>
 * </ul>
 * The word lists are deliberately small and explicit (a part-of-speech tagger would be more complete but
 * would add a model dependency and make the classes hard to reproduce).
 */
public enum TokenClass {
    DIGIT, NUMBER, OPERATOR, RELATION_WORD, VERB, OTHER;

    private static final Set<String> RELATION_WORDS = Set.of(
            "more", "less", "fewer", "than", "each", "every", "per", "times", "twice", "thrice", "half", "double",
            "triple", "total", "sum", "difference", "product", "left", "remaining", "remain", "remains", "rest",
            "altogether", "together", "combined", "all", "of", "percent", "fraction", "quarter", "third", "as",
            "many", "much", "plus", "minus", "divided", "multiplied", "equals", "equal", "increase", "decrease",
            "increased", "decreased", "after", "before", "again", "another", "other", "both", "same");

    private static final Set<String> VERBS = Set.of(
            "is", "are", "was", "were", "be", "been", "has", "have", "had", "buy", "buys", "bought", "sell", "sells",
            "sold", "give", "gives", "gave", "given", "get", "gets", "got", "take", "takes", "took", "taken", "pay",
            "pays", "paid", "spend", "spends", "spent", "earn", "earns", "earned", "make", "makes", "made", "owe",
            "owes", "owed", "lose", "loses", "lost", "eat", "eats", "ate", "add", "adds", "added", "subtract",
            "subtracts", "subtracted", "multiply", "multiplies", "divide", "divides", "need", "needs", "needed",
            "cost", "costs", "save", "saves", "saved", "use", "uses", "used", "find", "finds", "found", "put", "puts",
            "share", "shares", "shared", "collect", "collects", "collected", "receive", "receives", "received",
            "keep", "keeps", "kept", "leave", "leaves", "run", "runs", "ran", "read", "reads", "walk", "walks",
            "walked", "drive", "drives", "drove", "work", "works", "worked", "charge", "charges", "charged",
            "borrow", "borrows", "borrowed", "lend", "lends", "lent", "win", "wins", "won", "plant", "plants",
            "planted", "pick", "picks", "picked", "fill", "fills", "filled", "cut", "cuts", "split");

    /** The class of one decoded token. */
    public static TokenClass of(String token) {
        if (token == null) return OTHER;
        String t = token.replace("Ġ", "").replace("▁", "").replace("Ċ", "").strip();
        if (t.isEmpty()) return OTHER;
        if (t.length() == 1 && Character.isDigit(t.charAt(0)) && t.charAt(0) < 128) return DIGIT;
        if (t.matches("\\d{1,3}(,\\d{3})+(\\.\\d+)?|\\d+\\.\\d+|\\d{2,}|\\.\\d+")) return NUMBER;
        if (t.matches("[-+*/×÷=<>^%()≤≥·]+")) return OPERATOR;
        String w = t.toLowerCase(Locale.ROOT);
        if (RELATION_WORDS.contains(w)) return RELATION_WORD;
        if (VERBS.contains(w)) return VERB;
        return OTHER;
    }

    /** Lower-case name used in tables and figures ({@code relation word}). */
    public String label() { return name().toLowerCase(Locale.ROOT).replace('_', ' '); }

    /** Whether the token is (part of) a number. */
    public boolean numeric() { return this == DIGIT || this == NUMBER; }
}
