package org.consultbridge.signaling.ops;

import java.util.Arrays;

/**
 * The samples of one figure of one participant over a consultation, for its median and worst value. Bounded: when
 * full, every other sample is dropped and only every second one is taken from then on (a 2 s sample interval fills
 * the 1024 after 34 min; the median of the thinned series stays a median of the whole call). Floats: 4 KiB per
 * figure at most, 40 KiB per participant, whatever the length of the call.
 */
final class FigureSeries {

    static final int CAPACITY = 1024;

    /** Whether a high value is the bad end (loss, RTT) or a low one (bit rate, frame rate, layer). */
    enum Worse {
        HIGHER, LOWER
    }

    private final Worse worse;
    private float[] values = new float[64];
    private int size;
    private int stride = 1;
    private long offered;
    private double worst = Double.NaN;

    FigureSeries(Worse worse) {
        this.worse = worse;
    }

    /** Adds one sample; negative or non-finite values mean unknown and are skipped. */
    void add(double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            return;
        }
        if (Double.isNaN(worst) || (worse == Worse.HIGHER ? v > worst : v < worst)) {
            worst = v; // the worst is exact, whatever the thinning
        }
        if (offered++ % stride != 0) {
            return;
        }
        if (size == values.length) {
            if (size == CAPACITY) {
                for (int i = 0; i < size / 2; i++) {
                    values[i] = values[2 * i];
                }
                size /= 2;
                stride *= 2;
            } else {
                values = Arrays.copyOf(values, Math.min(CAPACITY, values.length * 2));
            }
        }
        values[size++] = (float) v;
    }

    /** Samples taken (known values). */
    long count() {
        return offered;
    }

    /** The median of the kept samples, NaN when none. */
    double median() {
        if (size == 0) {
            return Double.NaN;
        }
        float[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        return size % 2 == 1 ? sorted[size / 2] : ((double) sorted[size / 2 - 1] + sorted[size / 2]) / 2;
    }

    /** The worst sample: highest or lowest, per {@link Worse}; NaN when none. */
    double worst() {
        return worst;
    }
}
