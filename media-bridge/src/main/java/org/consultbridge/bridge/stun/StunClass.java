package org.consultbridge.bridge.stun;

/** The class bits of a STUN message type (RFC 5389 §6). */
public enum StunClass {
    REQUEST,
    INDICATION,
    SUCCESS_RESPONSE,
    ERROR_RESPONSE
}
