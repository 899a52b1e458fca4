package ctlab.task;

/**
 * The grader's verdict on one response: the extracted final answer (null when nothing could be extracted)
 * and whether it is equivalent to the reference.
 */
public record Grade(String extracted, boolean equal) {
    public static final Grade NO_ANSWER = new Grade(null, false);
}
