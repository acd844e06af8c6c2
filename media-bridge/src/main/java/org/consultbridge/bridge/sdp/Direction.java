package org.consultbridge.bridge.sdp;

import java.util.Locale;

/** Media direction attribute (RFC 8866 §6.7). */
public enum Direction {
    SENDRECV, SENDONLY, RECVONLY, INACTIVE;

    public String sdp() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Direction parse(String s) {
        return switch (s) {
            case "sendrecv" -> SENDRECV;
            case "sendonly" -> SENDONLY;
            case "recvonly" -> RECVONLY;
            case "inactive" -> INACTIVE;
            default -> null;
        };
    }
}
