package org.consultbridge.signaling.clinical;

import java.util.Locale;
import org.consultbridge.bridge.api.VideoPreference;

/**
 * How a consultation's video trades frame rate against resolution when a link is short (issue #8). The web client
 * applies it to its camera sender ({@code degradationPreference}, {@code track.contentHint}, the simulcast
 * encodings); the bridge's allocator to what each participant receives ({@link VideoPreference}).
 */
public enum ClinicalProfile {
    /** The default: the highest layer the link carries, Chromium's balanced adaptation. */
    BALANCED(VideoPreference.BALANCED),
    /** Neurology (tremor, gait, facial palsy): keep the frame rate, give up resolution. */
    MOTION(VideoPreference.FRAMERATE),
    /** Dermatology, wound care: keep the resolution, give up frame rate. */
    DETAIL(VideoPreference.RESOLUTION);

    private final VideoPreference bridgePreference;

    ClinicalProfile(VideoPreference bridgePreference) {
        this.bridgePreference = bridgePreference;
    }

    public VideoPreference bridgePreference() {
        return bridgePreference;
    }

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The profile named {@code s} on the wire, or null. */
    public static ClinicalProfile fromWire(String s) {
        if (s == null) {
            return null;
        }
        return switch (s) {
            case "balanced" -> BALANCED;
            case "motion" -> MOTION;
            case "detail" -> DETAIL;
            default -> null;
        };
    }
}
