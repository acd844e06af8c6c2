package org.consultbridge.signaling.tls;

import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The public HTTPS (and so WSS) connector. TLS 1.2 and 1.3 only, with the cipher suites BSI TR-02102-2 recommends
 * that the JDK offers: ECDHE key exchange with AES-GCM (TLS 1.2), AES-GCM (TLS 1.3). Same suites as the coturn
 * configuration (turn-config).
 */
public final class HttpsConnector {

    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
    static final String[] CIPHER_SUITES = {
        "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    };

    private HttpsConnector() {
    }

    public static ServerConnector create(Server server, String host, int port, ServerCertificate cert) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(cert.keyStore());
        ssl.setKeyStorePassword(cert.password());
        ssl.setKeyManagerPassword(cert.password());
        ssl.setIncludeProtocols(PROTOCOLS);
        ssl.setIncludeCipherSuites(CIPHER_SUITES);
        ssl.setUseCipherSuitesOrder(true);
        ssl.setRenegotiationAllowed(false);
        HttpConfiguration https = new HttpConfiguration();
        https.setSendServerVersion(false);
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        // browsers send no SNI for an IP address, and a self-signed certificate covers addresses: do not insist on
        // a Host that matches the certificate (the origin check and the token protect the WebSocket)
        secure.setSniHostCheck(false);
        https.addCustomizer(secure);
        ServerConnector c = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"),
                new HttpConnectionFactory(https));
        c.setHost(host);
        c.setPort(port);
        return c;
    }
}
