package org.consultbridge.bridge.sdp;

/** An SDP that we cannot parse or cannot answer. The message says why, in words a client developer can act on. */
public class SdpException extends Exception {
    public SdpException(String message) {
        super(message);
    }

    public SdpException(String message, Throwable cause) {
        super(message, cause);
    }
}
