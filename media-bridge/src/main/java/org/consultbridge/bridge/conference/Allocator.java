package org.consultbridge.bridge.conference;

import java.util.List;
import org.consultbridge.bridge.api.VideoPreference;

/**
 * Spends one receiver's estimated downlink on what it receives (in the spirit of Jitsi Videobridge's
 * BandwidthAllocator and LiveKit's StreamAllocator): audio first; then the main video (for a doctor, the room
 * endpoint's camera) at the highest simulcast layer that fits; then every other video at its lowest layer; what is
 * left upgrades the others. A video whose lowest layer does not fit is suspended (audio only) until the estimate
 * recovers; suspension waits until the lowest layer has not fitted for 3 s. Upgrades need 10 % headroom so that an
 * estimate near a layer's rate does not flip layers back and forth.
 * With {@link VideoPreference#FRAMERATE} (the {@code motion} clinical profile) a layer running well below the frame
 * rate of the source's smoothest layer is passed over for a lower one that keeps the motion (as Jitsi Videobridge
 * prefers frame rate for camera video up to a preferred height).
 * Runs on the bridge's event loop a few times a second, never per packet.
 */
final class Allocator {

    private static final double UPGRADE_HEADROOM = 1.10;
    /** FRAMERATE preference: a layer counts as smooth at this share of the smoothest layer's frame rate. */
    private static final int SMOOTH_PERCENT = 75;
    /** How long the lowest layer must not fit before video to a receiver is suspended. */
    static final long SUSPEND_AFTER_NANOS = 3_000_000_000L;

    private Allocator() {
    }

    /**
     * Chooses {@link Consumer#targetLayer} for each video consumer of {@code consumers} (in priority order: the
     * main source's first). Returns the bit rate the chosen layers need, audio included.
     */
    static long allocate(List<Consumer> consumers, String mainSourceId, long availableBps, long nowNanos,
                         SuspensionListener listener) {
        return allocate(consumers, mainSourceId, availableBps, nowNanos, listener, VideoPreference.BALANCED);
    }

    /** As above, choosing among the fitting layers by {@code preference}. */
    static long allocate(List<Consumer> consumers, String mainSourceId, long availableBps, long nowNanos,
                         SuspensionListener listener, VideoPreference preference) {
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
                int layer = bestFitting(c, budget, nowNanos, preference);
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
                        int better = bestFitting(c, budget + base, nowNanos, preference);
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

    /**
     * Whether {@code layer} fits: the layer being forwarded at its measured rate; a higher one (an upgrade, whose
     * keyframe comes on top) at its peak rate of the last seconds plus headroom.
     */
    private static boolean fits(Consumer c, int layer, long budget, long nowNanos) {
        long rate = layerRate(c, layer, nowNanos);
        if (layer > c.currentLayer) {
            rate = (long) (c.producer.streams[layer].peakBitrate(nowNanos) * UPGRADE_HEADROOM);
        }
        return rate <= budget;
    }

    /** The lowest layer that is flowing, ignoring the receiver's limit; -1 when none is. */
    private static int lowestFlowing(Consumer c, long nowNanos) {
        for (int l = 0; l < c.producer.streams.length; l++) {
            if (c.producer.streams[l].active(nowNanos)) {
                return l;
            }
        }
        return -1;
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

    /** The layer {@code preference} chooses among those that fit (see {@link #smoothestFitting}). */
    private static int bestFitting(Consumer c, long budget, long nowNanos, VideoPreference preference) {
        return preference == VideoPreference.FRAMERATE ? smoothestFitting(c, budget, nowNanos)
                : highestFitting(c, budget, nowNanos);
    }

    /**
     * FRAMERATE: the highest fitting layer whose frame rate is at least {@link #SMOOTH_PERCENT} % of the smoothest
     * flowing layer's (layers not measured yet count as smooth); when no smooth layer fits, the highest that fits.
     */
    static int smoothestFitting(Consumer c, long budget, long nowNanos) {
        int max = Math.min(c.producer.streams.length - 1, c.maxLayer);
        long best = 0;
        for (int l = 0; l <= max; l++) {
            best = Math.max(best, c.producer.streams[l].frameRate(nowNanos));
        }
        long smooth = best * SMOOTH_PERCENT / 100;
        for (int l = max; l >= 0; l--) {
            InboundStream s = c.producer.streams[l];
            if (s.active(nowNanos) && s.frameRate(nowNanos) >= smooth && fits(c, l, budget, nowNanos)) {
                return l;
            }
        }
        return highestFitting(c, budget, nowNanos);
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
        if (layer < 0 && c.targetLayer >= 0) {
            // Suspend only when even the lowest layer has not fitted for a while: one low estimate (an over-use
            // signal from jitter halves it) must not cost the receiver seconds of video and a keyframe to resume.
            if (c.unfitSinceNanos == 0) {
                c.unfitSinceNanos = nowNanos;
            }
            if (nowNanos - c.unfitSinceNanos < SUSPEND_AFTER_NANOS) {
                layer = Math.max(0, lowestFlowing(c, nowNanos));
            }
        } else {
            c.unfitSinceNanos = 0;
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
