package ctlab.train;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScheduleTest {

    /** Every multiplier HF's get_*_schedule_with_warmup produced in the fixture, including past the end. */
    @Test void matchesHuggingFaceLambdas() {
        JsonNode rows = Goldens.adamw().get("schedules");
        assertTrue(rows.size() >= 12);
        int checked = 0;
        for (JsonNode row : rows) {
            Schedule s = new Schedule(Schedule.Kind.parse(row.get("kind").asText()),
                    row.get("warmup_steps").asInt(), row.get("total_steps").asInt());
            JsonNode factors = row.get("factors");
            for (int step = 0; step < factors.size(); step++) {
                assertEquals(factors.get(step).asDouble(), s.factor(step), 1e-12, s + " step " + step);
                checked++;
            }
        }
        assertTrue(checked > 100);
    }

    @Test void warmupRatioResolvesLikeHf() {
        for (JsonNode r : Goldens.adamw().get("warmup_ratios")) {
            assertEquals(r.get("warmup_steps").asInt(),
                    Schedule.resolveWarmup(0, r.get("ratio").asDouble(), r.get("total_steps").asInt()), r.toString());
        }
        assertEquals(7, Schedule.resolveWarmup(7, 0.5, 100), "explicit warmup steps win over the ratio");
    }

    @Test void shapes() {
        Schedule linear = new Schedule(Schedule.Kind.LINEAR, 4, 12);
        assertEquals(0.0, linear.factor(0));
        assertEquals(0.5, linear.factor(2));
        assertEquals(1.0, linear.factor(4));
        assertEquals(0.5, linear.factor(8));
        assertEquals(0.0, linear.factor(12));
        Schedule cosine = new Schedule(Schedule.Kind.COSINE, 0, 10);
        assertEquals(1.0, cosine.factor(0), 1e-15);
        assertEquals(0.5, cosine.factor(5), 1e-15);
        Schedule constant = new Schedule(Schedule.Kind.CONSTANT, 2, 10);
        assertEquals(0.5, constant.factor(1));
        assertEquals(1.0, constant.factor(9));
    }

    @Test void unknownKindNamesTheChoices() {
        CtlabException e = assertThrows(CtlabException.class, () -> Schedule.Kind.parse("polynomial"));
        assertTrue(e.getMessage().contains("polynomial") && e.getMessage().contains("cosine"), e.getMessage());
        assertEquals(Schedule.Kind.COSINE, Schedule.Kind.parse("Cosine"));
    }
}
