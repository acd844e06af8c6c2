package org.consultbridge.signaling.tls;

import com.typesafe.config.Config;

/**
 * HTTPS and WSS on the public side ({@code consultbridge.http.tls}, documented in reference.conf).
 *
 * @param enabled          serve HTTPS at all
 * @param port             the HTTPS port (0 = any free port)
 * @param keystore         a PKCS#12 file with the certificate chain and its key, or empty
 * @param keystorePassword its password
 * @param certFile         a PEM certificate chain (leaf first), or empty
 * @param keyFile          its PEM private key (PKCS#8, or a traditional EC/RSA key), or empty
 */
public record TlsSettings(boolean enabled, int port, String keystore, String keystorePassword, String certFile,
                          String keyFile) {

    public static TlsSettings from(Config http) {
        Config c = http.getConfig("tls");
        TlsSettings s = new TlsSettings(c.getBoolean("enabled"), c.getInt("port"), c.getString("keystore"),
                c.getString("keystore-password"), c.getString("cert-file"), c.getString("key-file"));
        if (!s.certFile.isEmpty() != !s.keyFile.isEmpty()) {
            throw new IllegalArgumentException("consultbridge.http.tls: cert-file and key-file go together");
        }
        if (!s.keystore.isEmpty() && !s.certFile.isEmpty()) {
            throw new IllegalArgumentException("consultbridge.http.tls: either keystore or cert-file/key-file");
        }
        return s;
    }

    /** No certificate configured: a self-signed one is generated at start. */
    public boolean selfSigned() {
        return keystore.isEmpty() && certFile.isEmpty();
    }

    public TlsSettings withPort(int newPort) {
        return new TlsSettings(enabled, newPort, keystore, keystorePassword, certFile, keyFile);
    }

    public TlsSettings withEnabled(boolean on) {
        return new TlsSettings(on, port, keystore, keystorePassword, certFile, keyFile);
    }
}
