package ctlab.train.loss;

import ctlab.CtlabException;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The preference-loss variants, by the name used in configs and on the command line. */
public enum LossType {
    SFT("sft"),
    DPO("dpo"),
    RPO("rpo"),
    TOKEN_DPO("tokendpo"),
    CDPO("cdpo"),
    CDPO_OFFICIAL("cdpo-official");

    private final String configName;

    LossType(String configName) { this.configName = configName; }

    public String configName() { return configName; }

    /** True for losses that compare a chosen and a rejected response against a reference (everything but sft). */
    public boolean isPreference() { return this != SFT; }

    /** Which optional per-token inputs this variant reads; the trainer checks them before training starts. */
    public boolean needsRejectedWeights() { return this == CDPO || this == CDPO_OFFICIAL; }

    public boolean needsSequenceKl() { return this == TOKEN_DPO; }

    /** Parses a config name; an unknown name is a CtlabException listing the valid ones. */
    public static LossType fromName(String name) {
        for (LossType t : values()) if (t.configName.equals(name)) return t;
        throw new CtlabException("unknown loss '" + name + "'; expected one of "
                + Arrays.stream(values()).map(LossType::configName).collect(Collectors.joining(", ")));
    }

    @Override public String toString() { return configName; }
}
