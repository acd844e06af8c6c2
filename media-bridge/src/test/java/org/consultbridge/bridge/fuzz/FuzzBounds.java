package org.consultbridge.bridge.fuzz;

import java.lang.management.ManagementFactory;

/**
 * What the binary-parser fuzz targets check besides "only the documented exceptions": memory bounded by the input.
 * Allocation is measured with the JDK's per-thread allocation counter around one parse; a parser that sizes memory
 * by what a length field claims instead of by the bytes it got fails here. A first pass over a new code path may
 * load (and, under Jazzer, instrument) classes on this thread, so an input over the allowance is parsed a second
 * time and only that warm measurement counts.
 */
public final class FuzzBounds {

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    /** Fixed part of the allowance: small objects, an exception with its stack trace. */
    public static final long BASE_BYTES = 64 * 1024;
    /** Per input byte: a parser may copy its input a few times. */
    public static final long BYTES_PER_INPUT_BYTE = 32;

    private FuzzBounds() {
    }

    /** Runs {@code parse} and throws when it allocated more than the allowance for {@code inputLength} bytes. */
    public static void allocationBounded(String what, int inputLength, Runnable parse) {
        long allowed = BASE_BYTES + BYTES_PER_INPUT_BYTE * inputLength;
        long used = measure(parse);
        if (used > allowed) {
            used = measure(parse); // warm: classes loaded
            if (used > allowed) {
                throw new AssertionError(what + " allocated " + used + " bytes for " + inputLength
                        + " input bytes (allowed " + allowed + ")");
            }
        }
    }

    private static long measure(Runnable parse) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        parse.run();
        return THREADS.getCurrentThreadAllocatedBytes() - before;
    }
}
