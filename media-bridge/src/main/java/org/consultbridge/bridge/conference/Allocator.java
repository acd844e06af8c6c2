package org.consultbridge.bridge.conference;

import java.util.List;

/**
 * Spends one receiver's estimated downlink on what it receives (in the spirit of Jitsi Videobridge's
 * BandwidthAllocator and LiveKit's StreamAllocator): audio first; then the main video (for a doctor, the room
 * endpoint's camera) at the highest simulcast layer that fits; then every other video at its lowest layer; what is
 * left upgrades the others. A video whose lowest layer does not fit is suspended (audio only) until the estimate
 * recovers. Upgrades need 10 % headroom so that an estimate near a layer's rate does not flip layers back and forth.
 * Runs on the bridge's event loop a few times a second, never per packet.
 */
final class Allocator {

    private static final double UPGRADE_HEADROOM = 1.10;

    private Allocator() {
    }

    /**
     * Chooses {@link Consumer#targetLayer} for each video consumer of {@code consumers} (in priority order: the
     * main source's first). Returns the bit rate the chosen layers need, audio included.
     */
    static long allocate(List<Consumer> consumers, String mainSourceId, long availableBps, long nowNanos,
                         SuspensionListener listener) {
        long budget = availableBps;
        long needed = 0;
        for (Consumer c : consumers) {
            if (c.active && c.negotiated && !c.producer.video) {
                long audio = c.producer.streams[0].bitrate(nowNanos);
                budget -= audio;
                needed += audio;
            }
        }
        // main video first, at the highest layer that fits
        for (Consumer c : consumers) {
            if (isVideo(c) && isMain(c, mainSourceId)) {
                int layer = highestFitting(c, budget, nowNanos);
                budget -= layerRate(c, layer, nowNanos);
                needed += layerRate(c, layer, nowNanos);
                apply(c, layer, nowNanos, listener);
            }
        }
        // every other video at its lowest flowing layer
        int others = 0;
        for (Consumer c : consumers) {
            if (isVideo(c) && !isMain(c, mainSourceId)) {
                others++;
                int lowest = lowestActive(c, nowNanos);
                int layer = lowest >= 0 && fits(c, lowest, budget, nowNanos) ? lowest : lowest >= 0 ? -1 : c.targetLayer;
                budget -= layerRate(c, layer, nowNanos);
                needed += layerRate(c, layer, nowNanos);
                c.pendingLayer = layer;
            }
        }
        // what is left upgrades the others, in order
        if (others > 0) {
            for (Consumer c : consumers) {
                if (isVideo(c) && !isMain(c, mainSourceId)) {
                    int chosen = c.pendingLayer;
                    if (chosen >= 0) {
                        long base = layerRate(c, chosen, nowNanos);
                        int better = highestFitting(c, budget + base, nowNanos);
                        if (better > chosen) {
                            budget -= layerRate(c, better, nowNanos) - base;
                            needed += layerRate(c, better, nowNanos) - base;
                            chosen = better;
                        }
                    }
                    apply(c, chosen, nowNanos, listener);
                }
            }
        }
        return needed;
    }

    /** What the receiver would take with an unlimited downlink: audio and every video at its best flowing layer. */
    static long desired(List<Consumer> consumers, long nowNanos) {
        long sum = 0;
        for (Consumer c : consumers) {
            if (!c.active || !c.negotiated) {
                continue;
            }
            if (!c.producer.video) {
                sum += c.producer.streams[0].bitrate(nowNanos);
            } else {
                sum += layerRate(c, highestFitting(c, Long.MAX_VALUE / 4, nowNanos), nowNanos);
            }
        }
        return sum;
    }

    /** Tells the signalling side when video from a source stops or resumes for lack of bandwidth. */
    interface SuspensionListener {
        void suspensionChanged(Consumer c, boolean suspended);
    }

    private static boolean isVideo(Consumer c) {
        return c.active && c.negotiated && c.producer.video;
    }

    private static boolean isMain(Consumer c, String mainSourceId) {
        return mainSourceId != null && mainSourceId.equals(c.producer.owner.id());
    }

    private static long layerRate(Consumer c, int layer, long nowNanos) {
        return layer < 0 || layer >= c.producer.streams.length ? 0 : c.producer.streams[layer].bitrate(nowNanos);
    }

    private static boolean fits(Consumer c, int layer, long budget, long nowNanos) {
        long rate = layerRate(c, layer, nowNanos);
        if (layer > c.currentLayer) {
            rate = (long) (rate * UPGRADE_HEADROOM);
        }
        return rate <= budget;
    }

    private static int lowestActive(Consumer c, long nowNanos) {
        int max = Math.min(c.producer.streams.length - 1, c.maxLayer);
        for (int l = 0; l <= max; l++) {
            if (c.producer.streams[l].active(nowNanos)) {
                return l;
            }
        }
        return -1;
    }

    /**
     * The highest flowing layer within the receiver's limit that fits the budget; -1 when none fits; the current
     * target unchanged when no layer is flowing at all (camera off: nothing to decide, nothing to tell).
     */
    private static int highestFitting(Consumer c, long budget, long nowNanos) {
        int max = Math.min(c.producer.streams.length - 1, c.maxLayer);
        boolean anyActive = false;
        for (int l = max; l >= 0; l--) {
            if (!c.producer.streams[l].active(nowNanos)) {
                continue;
            }
            anyActive = true;
            if (fits(c, l, budget, nowNanos)) {
                return l;
            }
        }
        return anyActive ? -1 : c.targetLayer;
    }

    private static void apply(Consumer c, int layer, long nowNanos, SuspensionListener listener) {
        if (!c.producer.simulcast && layer < 0) {
            // one stream only: never suspended here; its sender adapts to the weakest receiver's loss instead
            layer = 0;
        }
        if (layer == c.targetLayer) {
            return;
        }
        boolean wasSuspended = c.targetLayer < 0;
        c.targetLayer = layer;
        if (layer < 0) {
            c.currentLayer = -1; // resuming starts on a keyframe again
            listener.suspensionChanged(c, true);
        } else {
            c.producer.streams[layer].requestKeyframe(nowNanos);
            if (wasSuspended) {
                listener.suspensionChanged(c, false);
            }
        }
    }
}
