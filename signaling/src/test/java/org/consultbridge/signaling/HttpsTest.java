package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringWriter;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.tls.ServerCertificate;
import org.consultbridge.signaling.tls.TlsSettings;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #7: HTTPS and WSS on the public side. The embedded default's self-signed certificate (ECDSA P-256, for
 * localhost and the loopback addresses), a PKCS#12 key store and PEM files: in each case a client that trusts
 * exactly that certificate loads a page over HTTPS and completes hello → welcome over WSS; TLS 1.1 and a CBC suite
 * are refused, TLS 1.3 and TLS 1.2 with ECDHE-GCM accepted.
 */
class HttpsTest {

    static final String SECRET = "https-secret-https-secret-https-secret-012";
    final TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));

    SignalingServer start(MediaBridge bridge, TlsSettings tls) throws Exception {
        ServerConfig base = ServerConfig.load().withHttp("127.0.0.1", 0);
        return SignalingServer.start(base.withHostile(base.hostile().withTls(tls.withPort(0))), tokens, bridge);
    }

    static SSLContext trusting(X509Certificate cert) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("server", cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** A page over HTTPS and hello → welcome over WSS, trusting only the server's certificate. */
    void pageAndSignallingOverTls(SignalingServer server, String host) throws Exception {
        X509Certificate cert = server.certificate().orElseThrow().certificate();
        HttpClient https = HttpClient.newBuilder().sslContext(trusting(cert)).build();
        HttpResponse<String> page = https.send(HttpRequest.newBuilder(
                URI.create("https://" + host + ":" + server.httpsPort() + "/room.html")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.sslSession()).isPresent();
        assertThat(page.sslSession().get().getProtocol()).isEqualTo("TLSv1.3");
        try (WsClient c = new WsClient(https, URI.create("wss://" + host + ":" + server.httpsPort() + "/ws"),
                Map.of("Origin", "https://" + host + ":" + server.httpsPort()))) {
            c.send("type", "hello", "id", 1, "version", 1, "token",
                    tokens.mint("c-tls", "dr-tls", Role.DOCTOR, "Dr. TLS", Duration.ofHours(1)));
            assertThat(c.await("welcome").path("participantId").asText()).isEqualTo("dr-tls");
        }
        // a client that does not trust the certificate gets no connection
        HttpClient untrusting = HttpClient.newHttpClient();
        assertThatThrownBy(() -> untrusting.send(HttpRequest.newBuilder(
                URI.create("https://" + host + ":" + server.httpsPort() + "/")).build(),
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(SSLHandshakeException.class);
    }

    /** Handshake with exactly one protocol and one suite; true when the server accepts it. */
    static boolean accepts(SignalingServer server, X509Certificate cert, String protocol, String suite)
            throws Exception {
        try (SSLSocket s = (SSLSocket) trusting(cert).getSocketFactory().createSocket("127.0.0.1",
                server.httpsPort())) {
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(new String[] {protocol});
            p.setCipherSuites(new String[] {suite});
            s.setSSLParameters(p);
            s.setSoTimeout(5000);
            s.startHandshake();
            return true;
        } catch (javax.net.ssl.SSLException e) {
            return false;
        }
    }

    @Test
    void theEmbeddedDefaultServesHttpsWithASelfSignedCertificate() throws Exception {
        MediaBridge bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of("127.0.0.1")));
        try (SignalingServer server = start(bridge, ServerConfig.load().hostile().tls())) {
            ServerCertificate cert = server.certificate().orElseThrow();
            assertThat(cert.isSelfSigned()).isTrue();
            assertThat(cert.certificate().getSigAlgName()).isEqualTo("SHA256withECDSA");
            assertThat(cert.covers(InetAddress.getByName("127.0.0.1"))).isTrue();
            assertThat(cert.covers(InetAddress.getByName("::1"))).isTrue();
            assertThat(cert.certificate().getSubjectAlternativeNames()).anyMatch(n -> n.get(1).equals("localhost"));
            // plain HTTP stays (http://localhost is a secure context for browsers)
            HttpResponse<String> plain = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(plain.statusCode()).isEqualTo(200);
            pageAndSignallingOverTls(server, "127.0.0.1");
            pageAndSignallingOverTls(server, "localhost");

            X509Certificate c = cert.certificate();
            assertThat(accepts(server, c, "TLSv1.3", "TLS_AES_128_GCM_SHA256")).isTrue();
            assertThat(accepts(server, c, "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")).isTrue();
            assertThat(accepts(server, c, "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256")).as("not in TR-02102-2").isFalse();
            assertThat(accepts(server, c, "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256")).as("CBC").isFalse();
            assertThat(accepts(server, c, "TLSv1.1", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA")).as("TLS 1.1").isFalse();
        } finally {
            bridge.close();
        }
    }

    @Test
    void aConfiguredCertificateFromPemFilesOrAPkcs12StoreIsServed(@TempDir Path dir) throws Exception {
        // "the clinic's certificate": made here, written the way operators get them (PEM chain + key, or .p12)
        ServerCertificate clinic = ServerCertificate.selfSigned(List.of("consult.clinic.example"));
        Path certFile = dir.resolve("fullchain.pem");
        Path keyFile = dir.resolve("privkey.pem");
        Files.writeString(certFile, pem(clinic.certificate()));
        Files.writeString(keyFile, pem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator( // "PRIVATE KEY", as
                (java.security.PrivateKey) clinic.keyStore().getKey(ServerCertificate.ALIAS, // Let's Encrypt's
                        clinic.password().toCharArray()), null).generate()));
        Path p12 = dir.resolve("server.p12");
        KeyStore store = KeyStore.getInstance("PKCS12"); // as `openssl pkcs12 -export` writes it: one password
        store.load(null, null);
        store.setKeyEntry("clinic", clinic.keyStore().getKey(ServerCertificate.ALIAS, clinic.password().toCharArray()),
                "changeit".toCharArray(), new java.security.cert.Certificate[] {clinic.certificate()});
        try (var out = Files.newOutputStream(p12)) {
            store.store(out, "changeit".toCharArray());
        }
        TlsSettings defaults = ServerConfig.load().hostile().tls();
        MediaBridge bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        try {
            for (TlsSettings tls : List.of(
                    new TlsSettings(true, 0, "", "", certFile.toString(), keyFile.toString()),
                    new TlsSettings(true, 0, p12.toString(), "changeit", "", ""))) {
                try (SignalingServer server = start(bridge, tls)) {
                    ServerCertificate served = server.certificate().orElseThrow();
                    assertThat(served.isSelfSigned()).as("configured, not generated").isFalse();
                    assertThat(served.sha256Fingerprint()).isEqualTo(clinic.sha256Fingerprint());
                    pageAndSignallingOverTls(server, "127.0.0.1");
                }
            }
            try (SignalingServer off = start(bridge, defaults.withEnabled(false))) {
                assertThat(off.httpsPort()).isEqualTo(-1);
                assertThat(off.certificate()).isEmpty();
            }
        } finally {
            bridge.close();
        }
    }

    private static String pem(Object o) throws Exception {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(o);
        }
        return w.toString();
    }
}
