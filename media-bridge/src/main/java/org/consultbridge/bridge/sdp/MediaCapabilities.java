package org.consultbridge.bridge.sdp;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What the bridge receives and sends, in one place: codecs, their feedback, and header extensions. Subscribe offers
 * use the canonical payload types and extension ids below; publishers' own numbers are mapped to them per packet.
 */
public final class MediaCapabilities {

    public static final int PT_OPUS = 111;
    public static final int PT_VP8 = 96;
    public static final int PT_VP8_RTX = 97;
    public static final int PT_H264 = 102;
    public static final int PT_H264_RTX = 103;
    /** Audio redundancy (RFC 2198) around Opus, as Chromium offers it: {@code red/48000/2}, fmtp {@code 111/111}. */
    public static final int PT_RED = 63;

    public static final String EXT_MID = "urn:ietf:params:rtp-hdrext:sdes:mid";
    public static final String EXT_RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    public static final String EXT_REPAIRED_RID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    public static final String EXT_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    public static final String EXT_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    public static final String EXT_TRANSPORT_CC =
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    public static final String EXT_VIDEO_ORIENTATION = "urn:3gpp:video-orientation";

    /** Extension ids in subscribe offers. */
    public static final Map<String, Integer> CANONICAL_EXTENSION_IDS = Map.of(
            EXT_AUDIO_LEVEL, 1, EXT_ABS_SEND_TIME, 2, EXT_TRANSPORT_CC, 3, EXT_VIDEO_ORIENTATION, 4);

    private final boolean simulcast;
    private final boolean transportCc;
    private final boolean audioRed;

    private MediaCapabilities(boolean simulcast, boolean transportCc, boolean audioRed) {
        this.simulcast = simulcast;
        this.transportCc = transportCc;
        this.audioRed = audioRed;
    }

    public static MediaCapabilities defaults() {
        return new MediaCapabilities(false, false, false);
    }

    public MediaCapabilities withSimulcast(boolean on) {
        return new MediaCapabilities(on, transportCc, audioRed);
    }

    public MediaCapabilities withTransportCc(boolean on) {
        return new MediaCapabilities(simulcast, on, audioRed);
    }

    /**
     * Audio RED (RFC 2198): publishers that offer it are asked to send it (it is put first in the answer, which is
     * how Chromium chooses its send codec), subscribers are offered it next to plain Opus.
     */
    public MediaCapabilities withAudioRed(boolean on) {
        return new MediaCapabilities(simulcast, transportCc, on);
    }

    public boolean audioRed() {
        return audioRed;
    }

    public boolean simulcast() {
        return simulcast;
    }

    public boolean transportCc() {
        return transportCc;
    }

    /** The bridge's payload type for a codec name, or -1 when the bridge does not forward it. */
    public static int canonicalPayloadType(String codecName) {
        return switch (codecName.toUpperCase(Locale.ROOT)) {
            case "OPUS" -> PT_OPUS;
            case "VP8" -> PT_VP8;
            case "H264" -> PT_H264;
            case "RED" -> PT_RED; // audio only: video RED (ulpfec) is never accepted
            default -> -1;
        };
    }

    /** Extensions whose values travel end to end (the others are per hop: mid, rid, transport-cc). */
    public static boolean forwardsExtension(String uri, boolean video) {
        return switch (uri) {
            case EXT_ABS_SEND_TIME -> true;
            case EXT_AUDIO_LEVEL -> !video;
            case EXT_VIDEO_ORIENTATION -> video;
            default -> false;
        };
    }

    /** Header extensions accepted in a publish offer. */
    boolean acceptsOnPublish(String uri, boolean video) {
        return switch (uri) {
            case EXT_MID, EXT_ABS_SEND_TIME -> true;
            case EXT_RID, EXT_REPAIRED_RID -> video;
            case EXT_AUDIO_LEVEL -> !video;
            case EXT_VIDEO_ORIENTATION -> video;
            case EXT_TRANSPORT_CC -> transportCc;
            default -> false;
        };
    }

    /** Extensions written into subscribe offers for a kind, with their canonical ids. */
    List<Map.Entry<String, Integer>> subscribeExtensions(boolean video) {
        return CANONICAL_EXTENSION_IDS.entrySet().stream()
                .filter(e -> e.getKey().equals(EXT_TRANSPORT_CC) ? transportCc : forwardsExtension(e.getKey(), video))
                .sorted(Map.Entry.comparingByValue())
                .toList();
    }

    /** RTCP feedback kept for a codec (RFC 4585 nack and pli, RFC 5104 fir; transport-cc when enabled). */
    Set<String> feedback(boolean video) {
        if (video) {
            return transportCc ? Set.of("nack", "nack pli", "ccm fir", "transport-cc") : Set.of("nack", "nack pli", "ccm fir");
        }
        return transportCc ? Set.of("transport-cc") : Set.of();
    }

    /** Feedback in the canonical order for writing. */
    List<String> feedbackOrdered(boolean video) {
        return List.of("transport-cc", "ccm fir", "nack", "nack pli").stream().filter(feedback(video)::contains).toList();
    }

    /** Whether an H264 fmtp is one we forward: packetization-mode 1, (constrained) baseline (RFC 6184 §8.1). */
    static boolean acceptableH264(Map<String, String> fmtp) {
        String pm = fmtp.getOrDefault("packetization-mode", "0");
        String plid = fmtp.getOrDefault("profile-level-id", "42001f").toLowerCase(Locale.ROOT);
        return pm.equals("1") && (plid.startsWith("42e0") || plid.startsWith("4200"));
    }
}
