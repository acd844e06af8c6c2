package org.consultbridge.bridge.netem;

import java.util.Locale;

/**
 * A named emulated network link, one direction's settings applied to each direction: the rural links the product
 * is built for, shared by the emulated-network browser tests, the load generator and the link benchmark.
 * This kernel has no netem, so {@link LinkShaper} does it in user space.
 *
 * @param name        profile name
 * @param rateKbps    bottleneck rate per direction (0 = unlimited)
 * @param delayMillis one-way delay (half the round-trip time)
 * @param jitterMillis extra delay, uniform in [0, jitter), without reordering
 * @param lossPercent random loss per direction
 * @param burstLength mean length of a loss burst in packets (1 = independent losses; Gilbert-Elliott otherwise)
 * @param queueMillis the bottleneck's buffer: packets that would wait longer are dropped (tail drop)
 */
public record LinkProfile(String name, int rateKbps, int delayMillis, int jitterMillis, double lossPercent,
                          double burstLength, int queueMillis) {

    /** 384 kbit/s each way, 150 ms RTT, 2 % loss, 20 ms jitter: a typical village DSL/LTE link. */
    public static final LinkProfile RURAL_WEAK = new LinkProfile("rural-weak", 384, 75, 20, 2.0, 1, 400);
    /** 128 kbit/s, 300 ms RTT, 5 % loss: EDGE mobile, the worst the rooms see. */
    public static final LinkProfile EDGE = new LinkProfile("edge", 128, 150, 0, 5.0, 1, 600);
    /** rural-weak with its loss in bursts (3 %, 4 packets on average): a radio link fading in and out. */
    public static final LinkProfile RURAL_BURSTY = new LinkProfile("rural-bursty", 384, 75, 20, 3.0, 4, 400);
    /** 20 Mbit/s, 20 ms RTT, no loss. */
    public static final LinkProfile GOOD = new LinkProfile("good", 20_000, 10, 0, 0, 1, 200);

    public LinkProfile {
        if (rateKbps < 0 || delayMillis < 0 || jitterMillis < 0 || lossPercent < 0 || lossPercent > 100
                || burstLength < 1 || queueMillis <= 0) {
            throw new IllegalArgumentException("bad link profile " + name);
        }
    }

    public static LinkProfile named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "rural-weak" -> RURAL_WEAK;
            case "edge" -> EDGE;
            case "rural-bursty" -> RURAL_BURSTY;
            case "good" -> GOOD;
            default -> throw new IllegalArgumentException("unknown link profile " + name
                    + " (rural-weak, rural-bursty, edge, good)");
        };
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%d kbit/s, RTT %d ms, %.1f %% loss, %d ms jitter)", name, rateKbps,
                2 * delayMillis, lossPercent, jitterMillis);
    }
}
