package ctlab.run;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code ce.prompt_scores}: default true and kept out of score-ce's config hash; false is in it; bad values are one line. */
class CePromptScoresConfigTest {
    static final String MINIMAL = "task: gsm8k\nmodel: models/base\n";

    private static RunConfig parse(String... sets) { return RunConfig.parse(MINIMAL, "exp.yaml", List.of(sets)); }

    @Test void defaultTrueLeavesTheStageHashAsBefore() {
        RunConfig c = parse();
        assertTrue(c.ce().promptScores());
        var slice = Pipeline.configSlice(c, List.of("ce")).get("ce");
        assertFalse(slice.has("prompt_scores"), slice.toString());
        assertEquals(slice, Pipeline.configSlice(parse("ce.prompt_scores=true"), List.of("ce")).get("ce"));
        assertEquals(c, RunConfig.parse(c.toYaml(), "config.yaml", List.of()));
    }

    @Test void falseIsInTheStageHashAndReadsBack() {
        RunConfig off = parse("ce.prompt_scores=false");
        assertFalse(off.ce().promptScores());
        assertFalse(Pipeline.configSlice(off, List.of("ce")).get("ce").get("prompt_scores").asBoolean(true));
        assertNotEquals(Pipeline.configSlice(parse(), List.of("ce")), Pipeline.configSlice(off, List.of("ce")));
        assertEquals(off, RunConfig.parse(off.toYaml(), "config.yaml", List.of()));
    }

    @Test void aBadValueIsAOneLineErrorNamingTheKey() {
        CtlabException e = assertThrows(CtlabException.class, () -> parse("ce.prompt_scores=maybe"));
        assertTrue(e.getMessage().contains("ce.prompt_scores"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
