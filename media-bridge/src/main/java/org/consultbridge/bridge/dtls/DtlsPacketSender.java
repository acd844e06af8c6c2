package org.consultbridge.bridge.dtls;

/** Sends one DTLS datagram; called from the handshake thread, so it must be thread-safe. */
@FunctionalInterface
public interface DtlsPacketSender {
    void send(byte[] data, int off, int len);
}
