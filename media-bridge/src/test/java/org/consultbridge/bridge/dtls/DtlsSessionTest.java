package org.consultbridge.bridge.dtls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.tls.SRTPProtectionProfile;
import org.junit.jupiter.api.Test;

/** DTLS-SRTP handshakes between our server and BouncyCastle-based client sessions, over memory and real UDP. */
class DtlsSessionTest {

    static final class Outcome implements DtlsListener {
        final CompletableFuture<SrtpKeys> keys = new CompletableFuture<>();

        @Override
        public void onHandshakeComplete(SrtpKeys k) {
            keys.complete(k);
        }

        @Override
        public void onHandshakeFailed(Exception cause) {
            keys.completeExceptionally(cause);
        }

        @Override
        public void onClosed() {
        }
    }

    /** Two sessions wired back to back in memory. */
    static DtlsSession[] pair(DtlsCertificate serverCert, DtlsCertificate clientCert, Outcome s, Outcome c,
                              int[] clientProfiles) {
        DtlsSession[] sessions = new DtlsSession[2];
        sessions[0] = new DtlsSession(serverCert, DtlsRole.SERVER,
                (d, o, l) -> sessions[1].offer(d, o, l), s);
        sessions[1] = new DtlsSession(clientCert, DtlsRole.CLIENT,
                (d, o, l) -> sessions[0].offer(d, o, l), c, clientProfiles);
        return sessions;
    }

    static final int[] BOTH = {SRTPProtectionProfile.SRTP_AEAD_AES_128_GCM,
        SRTPProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80};

    @Test
    void handshakeExportsTheSameKeysOnBothSidesAndPrefersGcm() throws Exception {
        DtlsCertificate sc = DtlsCertificate.generate();
        DtlsCertificate cc = DtlsCertificate.generate();
        Outcome s = new Outcome();
        Outcome c = new Outcome();
        DtlsSession[] p = pair(sc, cc, s, c, BOTH);
        p[0].setRemoteFingerprint("sha-256", cc.sha256Fingerprint());
        p[1].setRemoteFingerprint("sha-256", sc.sha256Fingerprint());
        p[0].start();
        p[1].start();
        SrtpKeys sk = s.keys.get(10, TimeUnit.SECONDS);
        SrtpKeys ck = c.keys.get(10, TimeUnit.SECONDS);
        assertThat(sk.profile()).isEqualTo(SrtpProfile.AEAD_AES_128_GCM);
        assertThat(ck.clientKey()).isEqualTo(sk.clientKey());
        assertThat(ck.serverKey()).isEqualTo(sk.serverKey());
        assertThat(ck.clientSalt()).isEqualTo(sk.clientSalt()).hasSize(12);
        assertThat(ck.serverSalt()).isEqualTo(sk.serverSalt());
        assertThat(sk.clientKey()).isNotEqualTo(sk.serverKey());
        assertThat(p[0].isHandshakeComplete()).isTrue();
        p[0].close();
        p[1].close();
    }

    @Test
    void clientOfferingOnlyAesCmGetsAesCm() throws Exception {
        DtlsCertificate sc = DtlsCertificate.generate();
        DtlsCertificate cc = DtlsCertificate.generate();
        Outcome s = new Outcome();
        Outcome c = new Outcome();
        DtlsSession[] p = pair(sc, cc, s, c, new int[] {SRTPProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80});
        p[0].setRemoteFingerprint("sha-256", cc.sha256Fingerprint());
        p[1].setRemoteFingerprint("sha-256", sc.sha256Fingerprint());
        p[0].start();
        p[1].start();
        assertThat(s.keys.get(10, TimeUnit.SECONDS).profile()).isEqualTo(SrtpProfile.AES_CM_128_HMAC_SHA1_80);
        assertThat(c.keys.get(10, TimeUnit.SECONDS).clientSalt()).hasSize(14);
    }

    @Test
    void wrongFingerprintFailsTheHandshake() {
        DtlsCertificate sc = DtlsCertificate.generate();
        DtlsCertificate cc = DtlsCertificate.generate();
        DtlsCertificate other = DtlsCertificate.generate();
        Outcome s = new Outcome();
        Outcome c = new Outcome();
        DtlsSession[] p = pair(sc, cc, s, c, BOTH);
        p[0].setRemoteFingerprint("sha-256", other.sha256Fingerprint()); // server expects someone else
        p[1].setRemoteFingerprint("sha-256", sc.sha256Fingerprint());
        p[0].start();
        p[1].start();
        assertThatThrownBy(() -> s.keys.get(15, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        assertThatThrownBy(() -> c.keys.get(15, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
    }

    @Test
    void fingerprintArrivingAfterTheClientHelloStillWorks() throws Exception {
        DtlsCertificate sc = DtlsCertificate.generate();
        DtlsCertificate cc = DtlsCertificate.generate();
        Outcome s = new Outcome();
        Outcome c = new Outcome();
        DtlsSession[] p = pair(sc, cc, s, c, BOTH);
        p[1].setRemoteFingerprint("sha-256", sc.sha256Fingerprint());
        p[0].start();
        p[1].start();
        Thread.sleep(500); // the browser's answer is still on its way
        p[0].setRemoteFingerprint("sha-256", cc.sha256Fingerprint());
        assertThat(s.keys.get(10, TimeUnit.SECONDS)).isNotNull();
    }

    @Test
    void handshakeOverRealUdpSurvivesGarbage() throws Exception {
        DtlsCertificate sc = DtlsCertificate.generate();
        DtlsCertificate cc = DtlsCertificate.generate();
        try (DatagramSocket a = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             DatagramSocket b = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            Outcome s = new Outcome();
            Outcome c = new Outcome();
            DtlsSession server = new DtlsSession(sc, DtlsRole.SERVER, (d, o, l) -> send(a, b, d, o, l), s);
            DtlsSession client = new DtlsSession(cc, DtlsRole.CLIENT, (d, o, l) -> send(b, a, d, o, l), c);
            server.setRemoteFingerprint("sha-256", cc.sha256Fingerprint());
            client.setRemoteFingerprint("sha-256", sc.sha256Fingerprint());
            Thread.ofVirtual().start(() -> pump(a, server));
            Thread.ofVirtual().start(() -> pump(b, client));
            server.start();
            // garbage in the middle of a handshake is dropped by the record layer
            byte[] junk = {22, (byte) 0xfe, (byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 3, 1, 2, 3};
            server.offer(junk, 0, junk.length);
            client.start();
            assertThat(s.keys.get(10, TimeUnit.SECONDS).serverKey())
                    .isEqualTo(c.keys.get(10, TimeUnit.SECONDS).serverKey());
        }
    }

    /**
     * Join time: a clean handshake over real UDP is two flights each way, one datagram per flight (BouncyCastle hands
     * over one record per handshake message: a server's second flight used to be five datagrams, the client's third
     * five, each a read, a queue hand-off and a wake-up of the peer's handshake thread), and no retransmission timer
     * expires. Counted on the wire, by what each socket received; the timers are long so that a slow machine cannot
     * make a retransmission that the count would see.
     */
    @Test
    void cleanHandshakeOverRealUdpIsOneDatagramPerFlightWithoutRetransmission() throws Exception {
        DtlsCertificate sc = DtlsCertificate.generate();
        DtlsCertificate cc = DtlsCertificate.generate();
        try (DatagramSocket a = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             DatagramSocket b = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            Outcome s = new Outcome();
            Outcome c = new Outcome();
            DtlsSession server = new DtlsSession(sc, DtlsRole.SERVER, (d, o, l) -> send(a, b, d, o, l), s);
            DtlsSession client = new DtlsSession(cc, DtlsRole.CLIENT, (d, o, l) -> send(b, a, d, o, l), c);
            server.setRemoteFingerprint("sha-256", cc.sha256Fingerprint());
            client.setRemoteFingerprint("sha-256", sc.sha256Fingerprint());
            server.setInitialRetransmitMillis(10_000);
            client.setInitialRetransmitMillis(10_000);
            AtomicInteger atServer = new AtomicInteger();
            AtomicInteger atClient = new AtomicInteger();
            Thread.ofVirtual().start(() -> pump(a, server, atServer));
            Thread.ofVirtual().start(() -> pump(b, client, atClient));
            server.start();
            client.start();
            assertThat(s.keys.get(10, TimeUnit.SECONDS).serverKey())
                    .isEqualTo(c.keys.get(10, TimeUnit.SECONDS).serverKey());
            // ClientHello, then Certificate + ClientKeyExchange + CertificateVerify + ChangeCipherSpec + Finished
            assertThat(atServer.get()).isEqualTo(2);
            assertThat(client.datagramsSent()).isEqualTo(2);
            // ServerHello + Certificate + ServerKeyExchange + CertificateRequest + ServerHelloDone, then
            // ChangeCipherSpec + Finished; the client's keys come with the last, so it has seen both
            assertThat(server.datagramsSent()).isEqualTo(2);
            assertThat(atClient.get()).isEqualTo(2);
            assertThat(server.retransmitTimeouts()).isZero();
            assertThat(client.retransmitTimeouts()).isZero();
            server.close();
            client.close();
        }
    }

    /** A lost flight still comes back: the client's timer resends its ClientHello, the server its packed flight. */
    @Test
    void lostServerFlightIsResentWhenTheClientRetransmits() throws Exception {
        DtlsCertificate sc = DtlsCertificate.generate();
        DtlsCertificate cc = DtlsCertificate.generate();
        try (DatagramSocket a = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             DatagramSocket b = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            Outcome s = new Outcome();
            Outcome c = new Outcome();
            AtomicInteger fromServer = new AtomicInteger();
            DtlsSession server = new DtlsSession(sc, DtlsRole.SERVER, (d, o, l) -> {
                if (fromServer.incrementAndGet() > 1) { // the first flight is lost on the way
                    send(a, b, d, o, l);
                }
            }, s);
            DtlsSession client = new DtlsSession(cc, DtlsRole.CLIENT, (d, o, l) -> send(b, a, d, o, l), c);
            server.setRemoteFingerprint("sha-256", cc.sha256Fingerprint());
            client.setRemoteFingerprint("sha-256", sc.sha256Fingerprint());
            server.setInitialRetransmitMillis(10_000); // only the client's timer can bring it back
            client.setInitialRetransmitMillis(100);
            Thread.ofVirtual().start(() -> pump(a, server, new AtomicInteger()));
            Thread.ofVirtual().start(() -> pump(b, client, new AtomicInteger()));
            server.start();
            client.start();
            assertThat(s.keys.get(10, TimeUnit.SECONDS).clientKey())
                    .isEqualTo(c.keys.get(10, TimeUnit.SECONDS).clientKey());
            assertThat(client.retransmitTimeouts()).isPositive();
            assertThat(server.retransmitTimeouts()).isZero();
            server.close();
            client.close();
        }
    }

    @Test
    void serverTimerIsTwiceTheClientsCheckToHelloTimeWithinBounds() {
        assertThat(DtlsSession.serverRetransmitMillis(-1)).isEqualTo(DtlsSession.HANDSHAKE_RESEND_MILLIS);
        assertThat(DtlsSession.serverRetransmitMillis(2)).isEqualTo(DtlsSession.HANDSHAKE_RESEND_MILLIS);
        assertThat(DtlsSession.serverRetransmitMillis(300)).isEqualTo(600);
        assertThat(DtlsSession.serverRetransmitMillis(5000)).isEqualTo(DtlsSession.MAX_SERVER_RESEND_MILLIS);
    }

    /** The start-up warm-up completes real handshakes (both roles, fingerprints checked) on its own threads. */
    @Test
    void warmUpCompletesItsHandshakes() {
        assertThat(DtlsSession.warmUp(3)).isEqualTo(3);
    }

    @Test
    void silentPeerFailsTheHandshakeInsteadOfHanging() {
        Outcome c = new Outcome();
        DtlsSession client = new DtlsSession(DtlsCertificate.generate(), DtlsRole.CLIENT, (d, o, l) -> { }, c);
        client.setRemoteFingerprint("sha-256", "00");
        client.setHandshakeTimeoutMillis(2000);
        client.start();
        assertThatThrownBy(() -> c.keys.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
    }

    @Test
    void fingerprintIsSha256OfTheDerCertificate() throws Exception {
        DtlsCertificate cert = DtlsCertificate.generate();
        String expected = HexFormat.ofDelimiter(":").withUpperCase()
                .formatHex(MessageDigest.getInstance("SHA-256").digest(cert.der()));
        assertThat(cert.sha256Fingerprint()).isEqualTo(expected).hasSize(95);
    }

    private static void send(DatagramSocket from, DatagramSocket to, byte[] d, int o, int l) {
        try {
            from.send(new DatagramPacket(d, o, l, to.getLocalSocketAddress()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void pump(DatagramSocket s, DtlsSession session) {
        pump(s, session, new AtomicInteger());
    }

    private static void pump(DatagramSocket s, DtlsSession session, AtomicInteger datagrams) {
        byte[] buf = new byte[2048];
        while (!s.isClosed()) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                s.receive(p);
            } catch (IOException e) {
                return;
            }
            datagrams.incrementAndGet();
            session.offer(buf.clone(), 0, p.getLength());
        }
    }
}
