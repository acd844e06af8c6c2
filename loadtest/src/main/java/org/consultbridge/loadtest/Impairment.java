package org.consultbridge.loadtest;

import java.util.Locale;
import java.util.SplittableRandom;
import org.consultbridge.bridge.netem.LinkProfile;
import org.consultbridge.bridge.netem.LinkShaper;

/**
 * The simulated link of an impaired participant: a {@link LinkProfile} of media-bridge's link emulator, applied by
 * a {@link LinkShaper} per direction inside the generator (the same emulator as the emulated-network tests: one
 * implementation). {@link #NONE}: no emulation at all, the datagrams go straight to the socket.
 *
 * @param profile the link, each direction alike; null for {@link #NONE}
 */
record Impairment(LinkProfile profile) {

    static final Impairment NONE = new Impairment(null);
    /** The default of {@code --impairment}: a typical village DSL/LTE link. */
    static final String DEFAULT = "rural-weak";

    boolean none() {
        return profile == null;
    }

    /** A shaper for one direction of this link (not thread-safe: one per direction, used on one event loop). */
    LinkShaper newShaper() {
        return new LinkShaper(profile, new SplittableRandom());
    }

    /**
     * A profile name ({@code rural-weak}, {@code edge}, {@code good}), a spec ({@code loss=2,delay=100,jitter=20,
     * rate=384,burst=1,queue=400}: loss in %, one-way delay, jitter and queue in ms, rate in kbit/s per direction,
     * mean loss burst in packets), or a profile name followed by overrides ({@code rural-weak,loss=5}).
     *
     * @throws IllegalArgumentException with a message that says what is wrong
     */
    static Impairment parse(String spec) {
        String s = spec.strip();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("--impairment is empty (a profile: rural-weak, edge, good; or a spec "
                    + "like loss=2,delay=100,jitter=20,rate=384)");
        }
        String[] parts = s.split(",");
        LinkProfile base = new LinkProfile("custom", 0, 0, 0, 0, 1, 400);
        int first = 0;
        if (!parts[0].contains("=")) {
            base = LinkProfile.named(parts[0].strip()); // throws with the known names
            first = 1;
        }
        String name = first == 1 ? base.name() : "custom";
        int rate = base.rateKbps();
        int delay = base.delayMillis();
        int jitter = base.jitterMillis();
        double loss = base.lossPercent();
        double burst = base.burstLength();
        int queue = base.queueMillis();
        for (int i = first; i < parts.length; i++) {
            String[] kv = parts[i].split("=", -1);
            if (kv.length != 2 || kv[0].isBlank() || kv[1].isBlank()) {
                throw new IllegalArgumentException("--impairment parts are key=value, got \"" + parts[i] + "\"");
            }
            String key = kv[0].strip().toLowerCase(Locale.ROOT);
            String v = kv[1].strip();
            switch (key) {
                case "loss" -> loss = number(key, v, 0, 100);
                case "delay" -> delay = (int) whole(key, v, 0, 5000);
                case "jitter" -> jitter = (int) whole(key, v, 0, 5000);
                case "rate" -> rate = (int) whole(key, v, 0, 10_000_000);
                case "burst" -> burst = number(key, v, 1, 1000);
                case "queue" -> queue = (int) whole(key, v, 1, 10_000);
                default -> throw new IllegalArgumentException("--impairment: unknown key \"" + key
                        + "\" (loss, delay, jitter, rate, burst, queue)");
            }
            name = first == 1 ? base.name() + "+" : "custom";
        }
        return new Impairment(new LinkProfile(name, rate, delay, jitter, loss, burst, queue));
    }

    private static double number(String key, String v, double min, double max) {
        double d;
        try {
            d = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--impairment " + key + ": not a number: " + v);
        }
        if (!(d >= min && d <= max)) {
            throw new IllegalArgumentException("--impairment " + key + " must be between " + fmt(min) + " and "
                    + fmt(max) + ", got " + v);
        }
        return d;
    }

    private static long whole(String key, String v, long min, long max) {
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--impairment " + key + ": not a whole number: " + v);
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException("--impairment " + key + " must be between " + min + " and " + max
                    + ", got " + v);
        }
        return n;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    @Override
    public String toString() {
        return none() ? "none" : profile.toString();
    }
}
