package org.consultbridge.bridge.sdp;

/** DTLS role attribute a=setup (RFC 4145 §4, RFC 8842 §5). */
public enum Setup {
    ACTIVE, PASSIVE, ACTPASS, HOLDCONN;

    static Setup parse(String s) {
        return switch (s) {
            case "active" -> ACTIVE;
            case "passive" -> PASSIVE;
            case "actpass" -> ACTPASS;
            case "holdconn" -> HOLDCONN;
            default -> null;
        };
    }
}
