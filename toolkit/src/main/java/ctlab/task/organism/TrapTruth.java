package ctlab.task.organism;

import ctlab.CtlabException;
import ctlab.model.Tokenizer;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds a planted trap's decisive token in a sampled response and says which branch the response took there.
 * The trap sentence is found by its wording (the family's {@link TrapFamily#anchor}, e.g. "donated "); the
 * decisive token is the first operator token after it, before the sentence ends. Works on token ids (a
 * response's ids as sampled, or {@link Tokenizer#encodeResponse} of its text).
 */
public final class TrapTruth {
    private TrapTruth() {}

    /** What the response did at the trap: the correct operator, the misconception's, or anything else. */
    public enum Branch { CORRECT, TRAP, OTHER }

    /**
     * @param position index of the decisive token in the response ids; -1 when the response never reaches it
     *                 (no trap wording, or no operator before the sentence ends) — then the branch is OTHER
     */
    public record Hit(int position, Branch branch) {}

    /** The trap of {@code problem} located in {@code response}. */
    public static Hit locate(Tokenizer tokenizer, OrganismProblem problem, int[] response) {
        if (problem.trap() == null) throw new CtlabException("problem " + problem.id() + " has no trap");
        return locate(tokenizer, problem.trap(), response);
    }

    public static Hit locate(Tokenizer tokenizer, Trap trap, int[] response) {
        int[] anchor = tokenizer.encodeResponse(trap.trapFamily().anchor);
        Set<Integer> correct = ids(tokenizer, trap.correctOp()), wrong = ids(tokenizer, trap.trapOp());
        Set<Integer> anyOp = new HashSet<>();
        for (String op : List.of("+", "-", "*", "/", "=")) anyOp.addAll(ids(tokenizer, op));
        Set<Integer> end = ids(tokenizer, ".");
        int start = indexOf(response, anchor);
        if (start < 0) return new Hit(-1, Branch.OTHER);
        for (int i = start + anchor.length; i < response.length; i++) {
            int t = response[i];
            if (end.contains(t) || t == tokenizer.eosId()) break;
            if (!anyOp.contains(t)) continue;
            return new Hit(i, correct.contains(t) ? Branch.CORRECT : wrong.contains(t) ? Branch.TRAP : Branch.OTHER);
        }
        return new Hit(-1, Branch.OTHER);
    }

    /** Ids of a mark alone and with its trailing space ("-" and "- "), whichever the vocabulary has. */
    private static Set<Integer> ids(Tokenizer tokenizer, String mark) {
        Set<Integer> out = new HashSet<>();
        for (String s : List.of(mark, mark + " ")) {
            int[] ids = tokenizer.encodeResponse(s);
            if (ids.length == 1 && ids[0] != tokenizer.specialTokenId(OrganismTokenizer.UNK)) out.add(ids[0]);
        }
        return out;
    }

    private static int indexOf(int[] haystack, int[] needle) {
        if (needle.length == 0) return -1;
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
