package ctlab.data;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.Objects;

/**
 * Ground truth a task knows about one response ({@code ctlab.task.Task#annotate}): organism v2's planted trap.
 * Written as the {@code planted} field of a sample and {@code rejected_planted} of a pair; absent for tasks without.
 *
 * @param family   the trap family ("donate", ...)
 * @param position index of the decisive token in the response's carried ids; -1 when the response never reaches it
 * @param branch   what the response did there: "correct", "trap" (the misconception's operator) or "other"
 */
@JsonPropertyOrder({"family", "position", "branch"})
public record Planted(@JsonProperty("family") String family,
                      @JsonProperty("position") int position,
                      @JsonProperty("branch") String branch) {
    public static final String CORRECT = "correct", TRAP = "trap", OTHER = "other";

    public Planted {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(branch, "branch");
        if (!branch.equals(CORRECT) && !branch.equals(TRAP) && !branch.equals(OTHER))
            throw new IllegalArgumentException("branch '" + branch + "' is not correct, trap or other");
        if (position < -1) throw new IllegalArgumentException("position " + position + " < -1");
    }

    /** The response took the misconception's operator: its planted token is a known critical token. */
    @JsonIgnore public boolean fellIn() { return branch.equals(TRAP) && position >= 0; }
}
