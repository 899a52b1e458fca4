package ctlab.model;

import ai.djl.ndarray.NDArray;

import java.util.Objects;

/** One trainable tensor: its HF/PEFT name, the array, and whether AdamW applies weight decay to it. */
public record Param(String name, NDArray array, boolean weightDecay) {
    public Param {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(array, "array");
    }
}
