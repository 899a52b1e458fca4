package ctlab.task;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Selection against the official {@code select_data_for_sft_and_dpo} on 40 random problems (fixture:
 * tools/goldens/make_selection_official_golden.py). The official code draws samples at random, so the selected
 * answers are compared; group sizes are distinct within each polarity, so no tie makes the official choice random.
 */
class SelectionOfficialGoldenTest {

    @Test void selectsTheSameAnswersAsTheOfficialCode() throws Exception {
        JsonNode f;
        try (InputStream in = getClass().getResourceAsStream("/goldens/selection_official.json")) {
            assertNotNull(in, "fixture goldens/selection_official.json on the test classpath");
            f = Jsonl.MAPPER.readTree(in);
        }
        int problems = 0, negatives = 0, pairs = 0;
        for (JsonNode p : f.get("problems")) {
            String id = p.get("id").asText();
            List<GradedSample> samples = new ArrayList<>();
            int i = 0;
            for (JsonNode s : p.get("samples"))
                samples.add(new GradedSample(id, id + "-" + i++, "r", s.get(0).asText(), s.get(1).asBoolean()));
            Selection.ProblemSelection got = Selection.selectProblem(id, samples, Selection.Config.official());
            assertEquals(answers(p.get("sft_positive")), got.sftPositive().stream().map(GradedSample::answer).toList(), id + " positive");
            assertEquals(answers(p.get("sft_negative")), got.sftNegative().stream().map(GradedSample::answer).toList(), id + " negatives");
            JsonNode pair = p.get("pair");
            if (pair == null || pair.isNull()) {
                assertTrue(got.pairs().isEmpty(), id + " has no pair");
            } else {
                assertEquals(1, got.pairs().size(), id);
                assertEquals(pair.get(0).asText(), got.pairs().get(0).chosen().answer(), id + " chosen");
                assertEquals(pair.get(1).asText(), got.pairs().get(0).rejected().answer(), id + " rejected");
                pairs++;
            }
            negatives += got.sftNegative().size();
            problems++;
        }
        assertEquals(40, problems);
        assertTrue(negatives > problems && pairs > 0, "the fixture exercises multi-group negatives and pairs");
    }

    static List<String> answers(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.forEach(a -> out.add(a.asText()));
        return out;
    }
}
