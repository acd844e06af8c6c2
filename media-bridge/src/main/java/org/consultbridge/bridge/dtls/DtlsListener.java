package org.consultbridge.bridge.dtls;

/** Outcome of a {@link DtlsSession}; called on the handshake thread. */
public interface DtlsListener {

    void onHandshakeComplete(SrtpKeys keys);

    void onHandshakeFailed(Exception cause);

    /** The peer sent close_notify, or the session was closed. */
    void onClosed();
}
