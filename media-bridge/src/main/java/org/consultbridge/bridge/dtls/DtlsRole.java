package org.consultbridge.bridge.dtls;

/** Our side of the DTLS handshake (RFC 5763 §5: from a=setup). */
public enum DtlsRole {
    SERVER,
    CLIENT
}
