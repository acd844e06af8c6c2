package org.consultbridge.bridge.sdp;

/** a=fingerprint (RFC 8122 §5): hash function name as in SDP ("sha-256") and the colon-separated hex value. */
public record Fingerprint(String algorithm, String value) {
}
