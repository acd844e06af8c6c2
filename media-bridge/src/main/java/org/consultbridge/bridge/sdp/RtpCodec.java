package org.consultbridge.bridge.sdp;

import java.util.List;
import java.util.Map;

/** One payload type of an m-line: a=rtpmap, a=fmtp (as key/value pairs in order) and a=rtcp-fb values. */
public record RtpCodec(int pt, String name, int clockRate, int channels, Map<String, String> fmtp, List<String> rtcpFb) {

    public boolean isRtx() {
        return "rtx".equalsIgnoreCase(name);
    }

    /** For RTX (RFC 4588 §8.6): the associated payload type, or -1. */
    public int apt() {
        String v = fmtp.get("apt");
        if (v == null) {
            return -1;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
