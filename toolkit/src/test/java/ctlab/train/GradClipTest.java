package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GradClipTest {

    @Test void normMatchesTorchClipGradNorm() {
        int checked = 0;
        for (JsonNode scenario : Goldens.adamw().get("scenarios")) {
            double maxNorm = scenario.get("max_grad_norm").asDouble();
            for (JsonNode step : scenario.get("steps")) {
                try (NDManager m = NDManager.newBaseManager()) {
                    List<NDArray> grads = new ArrayList<>();
                    for (JsonNode p : scenario.get("params")) {
                        grads.add(m.create(Goldens.floats(step.get("grads").get(p.get("name").asText()))));
                    }
                    double expected = step.get("grad_norm").asDouble();
                    double norm = GradClip.clipGlobalNorm(grads, maxNorm);
                    assertEquals(expected, norm, 1e-6 * expected, "pre-clip norm");
                    double after = GradClip.globalNorm(grads);
                    if (maxNorm > 0 && expected > maxNorm) assertEquals(maxNorm, after, 1e-5, "clipped to max_norm");
                    else assertEquals(norm, after, 0.0, "under the threshold: untouched");
                    checked++;
                }
            }
        }
        assertEquals(15, checked);
    }

    @Test void clipsByTheGlobalNormNotElementwise() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {3, 0});
            NDArray b = m.create(new float[] {0, 4});
            double norm = GradClip.clipGlobalNorm(List.of(a, b), 1.0);
            assertEquals(5.0, norm, 1e-6);
            float coef = (float) (1.0 / (5.0 + 1e-6));
            assertArrayEquals(new float[] {3 * coef, 0}, a.toFloatArray(), 1e-7f, "direction kept");
            assertArrayEquals(new float[] {0, 4 * coef}, b.toFloatArray(), 1e-7f);
        }
    }

    @Test void nonFiniteNormLeavesGradientsForTheGuard() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {Float.NaN, 1});
            NDArray b = m.create(new float[] {2, 2});
            assertTrue(Double.isNaN(GradClip.clipGlobalNorm(List.of(a, b), 1.0)));
            assertArrayEquals(new float[] {2, 2}, b.toFloatArray());
            NDArray c = m.create(new float[] {Float.POSITIVE_INFINITY});
            assertTrue(Double.isInfinite(GradClip.clipGlobalNorm(List.of(c), 1.0)));
        }
    }

    @Test void zeroMaxNormOnlyMeasures() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {30, 40});
            assertEquals(50.0, GradClip.clipGlobalNorm(List.of(a), 0), 1e-6);
            assertArrayEquals(new float[] {30, 40}, a.toFloatArray());
        }
    }
}
