package org.consultbridge.bridge.stun;

/** A datagram that is not a well-formed STUN message; the message says what is wrong with it. */
public final class StunException extends Exception {
    public StunException(String message) {
        super(message);
    }
}
