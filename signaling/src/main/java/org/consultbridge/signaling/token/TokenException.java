package org.consultbridge.signaling.token;

/** A refused token; {@link #code()} is the signalling error code sent to the client. */
public final class TokenException extends Exception {

    private final String code;

    public TokenException(String code, String message) {
        super(message);
        this.code = code;
    }

    public String code() {
        return code;
    }
}
