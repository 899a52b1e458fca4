package ctlab.train.loss;

import ctlab.CtlabException;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The preference-loss variants, by the name used in configs and on the command line. This enum is the one list of
 * losses: run configs, result tables and figures derive theirs from it. A new loss is one constant here (name,
 * table position, how its class is built from a {@link LossConfig}) plus its class.
 */
public enum LossType {
    SFT("sft", 1, c -> new SftLoss()),
    DPO("dpo", 2, c -> new DpoLoss(c.beta(), c.labelSmoothing())),
    RPO("rpo", 4, c -> new RpoLoss(c.beta(), c.labelSmoothing(), c.rpoAlpha())),
    TOKEN_DPO("tokendpo", 3, c -> new TokenDpoLoss(c.beta(), c.labelSmoothing(), c.tdpo2(), c.tdpoAlpha())),
    CDPO("cdpo", 5, c -> new CdpoLoss(c.beta(), c.labelSmoothing(), c.onlyNegative())),
    CDPO_OFFICIAL("cdpo-official", 6, c -> new CdpoOfficialLoss(c.beta(), c.labelSmoothing(), c.onlyNegative()));

    private final String configName;
    private final int tableColumn;
    private final Function<LossConfig, PreferenceLoss> factory;

    /**
     * @param tableColumn position in result tables and figures (the paper's Table 1 order: SFT, DPO, TokenDPO,
     *                    RPO, cDPO), which is not the declaration order (the order of {@code train.losses})
     */
    LossType(String configName, int tableColumn, Function<LossConfig, PreferenceLoss> factory) {
        this.configName = configName;
        this.tableColumn = tableColumn;
        this.factory = factory;
    }

    public String configName() { return configName; }

    /** True for losses that compare a chosen and a rejected response against a reference (everything but sft). */
    public boolean isPreference() { return this != SFT; }

    /** The loss of a validated config of this type. */
    PreferenceLoss create(LossConfig config) { return factory.apply(config); }

    /** Every config name, in declaration order. */
    public static List<String> names() { return Arrays.stream(values()).map(LossType::configName).toList(); }

    /** The losses in the order of result tables and figures. */
    public static List<LossType> inTableOrder() {
        return Arrays.stream(values()).sorted(Comparator.comparingInt((LossType t) -> t.tableColumn)).toList();
    }

    /** Parses a config name; an unknown name is a CtlabException listing the valid ones. */
    public static LossType fromName(String name) {
        for (LossType t : values()) if (t.configName.equals(name)) return t;
        throw new CtlabException("unknown loss '" + name + "'; expected one of "
                + Arrays.stream(values()).map(LossType::configName).collect(Collectors.joining(", ")));
    }

    @Override public String toString() { return configName; }
}
