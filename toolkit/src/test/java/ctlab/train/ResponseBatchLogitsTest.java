package ctlab.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ctlab.data.PromptResponse;
import ctlab.model.LlamaModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Response-only projection gives the log-probs of the whole-row shifted log-prob function, sliced to the responses. */
class ResponseBatchLogitsTest {
    @Test
    void responseOnlyLogProbsEqualWholeRowSlice() {
        try (LlamaModel model = LlamaModel.load(Path.of("src/test/resources/goldens/llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            ResponseBatch b = ResponseBatch.pack(List.of(
                    new PromptResponse(new int[] {1, 5, 9}, new int[] {3, 7, 2, 8}),
                    new PromptResponse(new int[] {1, 4, 6, 8, 10}, new int[] {11}),
                    new PromptResponse(new int[] {2}, new int[] {12, 13, 14, 15, 16})));
            ResponseBatch.Tensors t = b.tensors(m);
            float[] fast = b.responseLogProbs(b.logits(model, t), t).toFloatArray();                     // (B, R)
            NDArray whole = LlamaModel.shiftedLogProbs(model.logits(t.ids(), t.attention()), t.ids(), t.attention());
            int p = b.promptWidth(), r = b.responseWidth();
            float[] ref = whole.get(":, " + (p - 1) + ":" + (p - 1 + r)).toFloatArray();
            assertEquals(ref.length, fast.length);
            for (int i = 0; i < ref.length; i++) assertEquals(ref[i], fast[i], 1e-5, "entry " + i);
            assertEquals(0.0, fast[r + 1], 0.0, "response padding is 0");
        }
    }
}
