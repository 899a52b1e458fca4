package ctlab.train;

import ai.djl.ndarray.NDManager;

/**
 * Counts the NDArrays alive in this process, for leak checks. DJL 0.36 has no global counter, but every
 * manager descends from the engine's system manager and {@code BaseNDManager.getManagedArrays()} recurses
 * into sub-managers; so walking from any manager up to the root and asking it counts every array that
 * is still attached anywhere (closed arrays and closed managers detach themselves).
 */
public final class LiveArrays {
    private LiveArrays() {}

    /** Live arrays under the root of {@code anyManager}'s tree (the whole process for one engine). */
    public static int count(NDManager anyManager) {
        NDManager root = anyManager;
        while (root.getParentManager() != null) root = root.getParentManager();
        return root.getManagedArrays().size();
    }

    /** Same, starting from a fresh throw-away manager of the default engine. */
    public static int count() {
        try (NDManager probe = NDManager.newBaseManager()) {
            return count(probe);
        }
    }
}
