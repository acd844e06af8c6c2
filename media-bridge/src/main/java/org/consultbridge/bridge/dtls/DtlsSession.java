package org.consultbridge.bridge.dtls;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Hashtable;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.ClientCertificateType;
import org.bouncycastle.tls.DTLSClientProtocol;
import org.bouncycastle.tls.DTLSServerProtocol;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.DatagramTransport;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.ExporterLabel;
import org.bouncycastle.tls.HashAlgorithm;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SRTPProtectionProfile;
import org.bouncycastle.tls.SignatureAlgorithm;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsContext;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsSRTPUtils;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.UseSRTPData;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.impl.bc.BcDefaultTlsCredentialedSigner;
import org.bouncycastle.tls.crypto.impl.bc.BcTlsCrypto;

/**
 * One DTLS 1.2 association for DTLS-SRTP (RFC 5764), as server or client. BouncyCastle's handshake API blocks, so it
 * runs on a virtual thread fed by a bounded queue of received records; the network side ({@link #offer}) never
 * blocks. The peer's certificate is accepted only if its fingerprint matches the one from the SDP (RFC 8122 §5),
 * which may arrive after the handshake started (a browser can send its ClientHello before its answer reaches us).
 * <p>
 * A flight goes out as one datagram: BouncyCastle hands over one record per handshake message (a server's second
 * flight is five of them), which are packed into datagrams of up to {@link #MTU} bytes and sent when the handshake
 * next waits for the peer (RFC 6347 §4.1.1 allows several records per datagram; BoringSSL sends flights so too).
 * A handshake on a clean link is then four datagrams (two each way) instead of a dozen, each of which cost the
 * receiver a read, a queue hand-off and a wake-up of its handshake thread.
 */
public final class DtlsSession {

    private static final int MTU = 1200;
    private static final int QUEUE_CAPACITY = 64;
    private static final int HANDSHAKE_TIMEOUT_MILLIS = 20_000;
    private static final long FINGERPRINT_WAIT_SECONDS = 10;
    /** Our preference, strongest first (RFC 7714 AEAD before the RFC 3711 default). */
    private static final int[] PROFILES = {SRTPProtectionProfile.SRTP_AEAD_AES_128_GCM,
        SRTPProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80};
    private static final int[] CIPHER_SUITES = {
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    };

    private final DtlsCertificate local;
    private final DtlsRole role;
    private final DtlsPacketSender sender;
    private final DtlsListener listener;
    private final BlockingQueue<byte[]> incoming = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final CompletableFuture<String[]> remoteFingerprint = new CompletableFuture<>();
    private final BcTlsCrypto crypto = new BcTlsCrypto(new SecureRandom());
    private final int[] offeredProfiles;
    /** Set by {@link #close()}: an owner-initiated close is not a failure to report. */
    private volatile boolean closed;
    private int handshakeTimeoutMillis = HANDSHAKE_TIMEOUT_MILLIS;
    private volatile boolean handshakeComplete;
    private volatile DTLSTransport transport;
    private volatile Thread thread;
    /** First retransmission of our flights, see {@link #setInitialRetransmitMillis}. */
    private volatile int initialRetransmitMillis = HANDSHAKE_RESEND_MILLIS;
    /** Datagrams sent (flights, retransmissions, alerts). */
    private final AtomicInteger datagramsSent = new AtomicInteger();
    /** Times our retransmission timer expired during the handshake (each resends our last flight). */
    private final AtomicInteger retransmitTimeouts = new AtomicInteger();

    public DtlsSession(DtlsCertificate local, DtlsRole role, DtlsPacketSender sender, DtlsListener listener) {
        this(local, role, sender, listener, PROFILES);
    }

    /** With an explicit list of SRTP profiles to offer/accept (tests, interop). */
    public DtlsSession(DtlsCertificate local, DtlsRole role, DtlsPacketSender sender, DtlsListener listener,
                       int[] srtpProfiles) {
        this.local = local;
        this.role = role;
        this.sender = sender;
        this.listener = listener;
        this.offeredProfiles = srtpProfiles.clone();
    }

    public void setRemoteFingerprint(String algorithm, String fingerprint) {
        remoteFingerprint.complete(new String[] {algorithm, fingerprint});
    }

    /**
     * First retransmission of a lost handshake flight (RFC 6347 §4.2.4.1 suggests 1 s, BouncyCastle's default; the
     * timer doubles on every retry). On a lossy rural link a lost flight would then cost a whole second of join
     * time; a quarter second is close to the RTT of such links and still far from flooding them. A server session
     * may be given a longer one from the round trip its transport saw ({@link #serverRetransmitMillis}).
     */
    static final int HANDSHAKE_RESEND_MILLIS = Integer.getInteger("consultbridge.dtls.resend-ms", 250);
    /** The longest first retransmission {@link #serverRetransmitMillis} chooses: RFC 6347's 1 s. */
    static final int MAX_SERVER_RESEND_MILLIS = 1000;

    /**
     * The first retransmission for a server session whose peer took {@code checkToHelloMillis} from its first ICE
     * check (which we answered at once) to its ClientHello: one round trip plus the time the client needed to start
     * its handshake, an upper bound of the round trip before our first flight goes out. Twice that (as WebRTC sets
     * its own DTLS timer from the ICE round trip, 2 x RTT clamped to 50 ms..3 s), at least
     * {@link #HANDSHAKE_RESEND_MILLIS}, at most {@link #MAX_SERVER_RESEND_MILLIS}.
     * <p>
     * The server's timer only decides when we resend our flight unasked: a lost flight of ours is also recovered by
     * the client's own timer (its retransmitted ClientHello or third flight makes us resend at once, RFC 6347
     * §4.2.4), and a browser's starts at 2 x RTT. A timer shorter than the round trip plus the client's time to
     * compute its third flight (its CertificateVerify signature: tens of ms on a busy phone) only resends flights
     * that were not lost, and makes the client resend its own in return.
     */
    public static int serverRetransmitMillis(long checkToHelloMillis) {
        if (checkToHelloMillis < 0) {
            return HANDSHAKE_RESEND_MILLIS;
        }
        return (int) Math.max(HANDSHAKE_RESEND_MILLIS, Math.min(MAX_SERVER_RESEND_MILLIS, 2 * checkToHelloMillis));
    }

    /** The first retransmission of our flights (ms, doubling on each retry); before {@link #start()}. */
    public void setInitialRetransmitMillis(int millis) {
        this.initialRetransmitMillis = Math.max(1, millis);
    }

    int initialRetransmitMillis() {
        return initialRetransmitMillis;
    }

    /** Datagrams this session sent: a flight is one unless it exceeds {@link #MTU}. */
    public int datagramsSent() {
        return datagramsSent.get();
    }

    /** How often our retransmission timer expired during the handshake (0 on a clean, responsive link). */
    public int retransmitTimeouts() {
        return retransmitTimeouts.get();
    }

    /** Shorter handshake timeouts for tests; the default is 20 s. */
    void setHandshakeTimeoutMillis(int millis) {
        this.handshakeTimeoutMillis = millis;
    }

    /**
     * Compiles the handshake before participants need it: {@code handshakes} DTLS handshakes between two sessions in
     * memory, one after the other, on platform threads (not the virtual-thread carriers that real handshakes run
     * on). A cold JVM interprets BouncyCastle's EC arithmetic, hashing and record layer: measured on this project's
     * 2-core VM, a handshake pair costs about 20 ms of CPU at first, 15 ms over the first 50 and 5 ms once compiled,
     * and the JIT compiles the hot methods meanwhile (the SHA-256 block function alone: 150-200 ms of compiler
     * time). The first consultations after a start paid for all of that during their joins, together. Never on an
     * event loop. Returns the handshakes that completed.
     */
    public static int warmUp(int handshakes) {
        DtlsCertificate serverCertificate = DtlsCertificate.generate();
        DtlsCertificate clientCertificate = DtlsCertificate.generate();
        ThreadFactory platform = Thread.ofPlatform().daemon().name("dtls-warm-up-", 0).factory();
        int done = 0;
        for (int i = 0; i < handshakes; i++) {
            CompletableFuture<SrtpKeys> serverKeys = new CompletableFuture<>();
            CompletableFuture<SrtpKeys> clientKeys = new CompletableFuture<>();
            DtlsSession[] pair = new DtlsSession[2];
            pair[0] = new DtlsSession(serverCertificate, DtlsRole.SERVER, (d, o, l) -> pair[1].offer(d, o, l),
                    new WarmUpListener(serverKeys));
            pair[1] = new DtlsSession(clientCertificate, DtlsRole.CLIENT, (d, o, l) -> pair[0].offer(d, o, l),
                    new WarmUpListener(clientKeys));
            pair[0].setRemoteFingerprint("sha-256", clientCertificate.sha256Fingerprint());
            pair[1].setRemoteFingerprint("sha-256", serverCertificate.sha256Fingerprint());
            pair[0].start(platform);
            pair[1].start(platform);
            try {
                serverKeys.get(10, TimeUnit.SECONDS);
                clientKeys.get(10, TimeUnit.SECONDS);
                done++;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return done;
            } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
                return done; // a machine this slow gains nothing from more
            } finally {
                pair[0].close();
                pair[1].close();
            }
        }
        return done;
    }

    /** Handshakes {@link #warmUpInBackground} runs: most of the compilation happens within the first hundred. */
    static final int WARM_UP_HANDSHAKES = Integer.getInteger("consultbridge.dtls.warm-up-handshakes", 100);
    private static final AtomicBoolean WARMING = new AtomicBoolean();

    /**
     * {@link #warmUp} of {@link #WARM_UP_HANDSHAKES} on a daemon thread of its own, once per process: the first call
     * starts it, later calls do nothing ({@code -Dconsultbridge.dtls.warm-up-handshakes=0}: never).
     */
    public static void warmUpInBackground() {
        if (WARM_UP_HANDSHAKES > 0 && WARMING.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon().name("dtls-warm-up").start(() -> {
                long start = System.nanoTime();
                int done = warmUp(WARM_UP_HANDSHAKES);
                org.slf4j.LoggerFactory.getLogger(DtlsSession.class).info("DTLS warm-up: {} handshakes in {} ms", done,
                        (System.nanoTime() - start) / 1_000_000);
            });
        }
    }

    private record WarmUpListener(CompletableFuture<SrtpKeys> keys) implements DtlsListener {
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

    public void start() {
        start(Thread.ofVirtual().name("dtls-" + role.name().toLowerCase(Locale.ROOT)).factory());
    }

    /**
     * Starts the handshake on a thread of {@code threads} (which runs the session until it closes). The bridge's
     * sessions run on virtual threads ({@link #start()}); a load generator simulating many browsers on one core
     * gives each its own platform thread, as browsers have: on virtual threads they would all share one carrier,
     * and each simulated browser's handshake step would wait for the others'.
     */
    public void start(ThreadFactory threads) {
        // assigned before it runs: the handshake thread recognises itself when it sends (see QueueTransport)
        thread = threads.newThread(this::run);
        thread.start();
    }

    /** A received DTLS datagram; false when the queue is full or the session closed (the caller counts a drop). */
    public boolean offer(byte[] data, int off, int len) {
        if (closed) {
            return false;
        }
        byte[] copy = (off == 0 && len == data.length) ? data : java.util.Arrays.copyOfRange(data, off, off + len);
        return incoming.offer(copy);
    }

    public boolean isHandshakeComplete() {
        return handshakeComplete;
    }

    public DtlsRole role() {
        return role;
    }

    public void close() {
        if (closed) {
            return;
        }
        DTLSTransport t = transport;
        if (t != null) {
            try {
                t.close(); // sends close_notify
            } catch (IOException ignored) {
                // the peer may already be gone
            }
        }
        closed = true;
        if (thread != null) {
            thread.interrupt();
        }
    }

    /** The transport of the running handshake (its thread only). */
    private final QueueTransport flightSender = new QueueTransport();

    private void run() {
        QueueTransport queue = flightSender;
        try {
            DTLSTransport t;
            if (role == DtlsRole.SERVER) {
                DTLSServerProtocol protocol = new DTLSServerProtocol();
                // ICE already proved the peer owns its address: no HelloVerifyRequest round trip (RFC 6347 §4.2.1)
                protocol.setVerifyRequests(false);
                t = protocol.accept(new Server(), queue);
            } else {
                t = new DTLSClientProtocol().connect(new Client(), queue);
            }
            transport = t;
            queue.flush(); // the server's last flight (client: nothing is pending)
            if (closed) {
                t.close();
                return;
            }
            // Keep reading: answers retransmitted final flights and notices close_notify.
            byte[] buf = new byte[MTU + 100];
            while (!closed) {
                t.receive(buf, 0, buf.length, 1000);
            }
        } catch (Exception e) {
            queue.flush(); // a fatal alert BouncyCastle sent before giving up
            if (!handshakeComplete) {
                if (!closed) {
                    listener.onHandshakeFailed(e);
                }
                return;
            }
        }
        listener.onClosed();
    }

    private void checkFingerprint(Certificate peer) throws IOException {
        if (peer == null || peer.isEmpty()) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate);
        }
        String[] expected;
        flightSender.flush(); // nothing of ours waits while we wait for the answer
        try {
            expected = remoteFingerprint.get(FINGERPRINT_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("closed while waiting for the remote fingerprint");
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate);
        }
        String actual = DtlsCertificate.fingerprint(expected[0], peer.getCertificateAt(0).getEncoded());
        if (actual == null || !MessageDigest.isEqual(actual.getBytes(), expected[1].toUpperCase(Locale.ROOT).getBytes())) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate);
        }
    }

    private TlsCredentialedSigner signer(TlsContext context) throws IOException {
        TlsCertificate cert = crypto.createCertificate(local.der());
        return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, local.privateKey(),
                new Certificate(new TlsCertificate[] {cert}),
                SignatureAndHashAlgorithm.getInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));
    }

    private void complete(TlsContext context, int profileId) {
        flightSender.flush(); // the server's last flight leaves before the keys are handed on
        SrtpProfile profile = SrtpProfile.byId(profileId);
        byte[] material = context.exportKeyingMaterial(ExporterLabel.dtls_srtp, null,
                2 * (profile.keyLength() + profile.saltLength()));
        handshakeComplete = true;
        listener.onHandshakeComplete(SrtpKeys.fromKeyingMaterial(profile, material));
    }

    private final class Server extends DefaultTlsServer {
        private int chosenProfile = -1;

        Server() {
            super(crypto);
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return ProtocolVersion.DTLSv12.only();
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return TlsUtils.getSupportedCipherSuites(crypto, CIPHER_SUITES);
        }

        @Override
        public int getHandshakeResendTimeMillis() {
            return initialRetransmitMillis;
        }

        @Override
        public int getHandshakeTimeoutMillis() {
            return handshakeTimeoutMillis;
        }

        @Override
        protected TlsCredentialedSigner getECDSASignerCredentials() throws IOException {
            return signer(context);
        }

        /** WebRTC authenticates both sides (RFC 8827 §6.5): ask for the browser's certificate. */
        @Override
        public CertificateRequest getCertificateRequest() {
            return new CertificateRequest(new short[] {ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign},
                    TlsUtils.getDefaultSupportedSignatureAlgorithms(context), null);
        }

        @Override
        public void notifyClientCertificate(Certificate clientCertificate) throws IOException {
            checkFingerprint(clientCertificate);
        }

        /** RFC 5764 §4.1.2: choose the first of our profiles that the client offers. */
        @Override
        public void processClientExtensions(Hashtable clientExtensions) throws IOException {
            super.processClientExtensions(clientExtensions);
            UseSRTPData offered = TlsSRTPUtils.getUseSRTPExtension(clientExtensions);
            if (offered == null) {
                throw new TlsFatalAlert(AlertDescription.handshake_failure); // no DTLS-SRTP, no media
            }
            for (int ours : offeredProfiles) {
                for (int theirs : offered.getProtectionProfiles()) {
                    if (ours == theirs && chosenProfile < 0) {
                        chosenProfile = ours;
                    }
                }
            }
            if (chosenProfile < 0) {
                throw new TlsFatalAlert(AlertDescription.handshake_failure);
            }
        }

        @Override
        public Hashtable getServerExtensions() throws IOException {
            Hashtable ext = super.getServerExtensions();
            TlsSRTPUtils.addUseSRTPExtension(ext, new UseSRTPData(new int[] {chosenProfile}, TlsUtils.EMPTY_BYTES));
            return ext;
        }

        @Override
        public void notifyHandshakeComplete() throws IOException {
            super.notifyHandshakeComplete();
            complete(context, chosenProfile);
        }
    }

    private final class Client extends DefaultTlsClient {
        private int chosenProfile = -1;

        Client() {
            super(crypto);
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return ProtocolVersion.DTLSv12.only();
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return TlsUtils.getSupportedCipherSuites(crypto, CIPHER_SUITES);
        }

        @Override
        public int getHandshakeResendTimeMillis() {
            return initialRetransmitMillis;
        }

        @Override
        public int getHandshakeTimeoutMillis() {
            return handshakeTimeoutMillis;
        }

        @Override
        public Hashtable getClientExtensions() throws IOException {
            Hashtable ext = super.getClientExtensions();
            TlsSRTPUtils.addUseSRTPExtension(ext, new UseSRTPData(offeredProfiles, TlsUtils.EMPTY_BYTES));
            return ext;
        }

        @Override
        public void processServerExtensions(Hashtable serverExtensions) throws IOException {
            super.processServerExtensions(serverExtensions);
            UseSRTPData chosen = TlsSRTPUtils.getUseSRTPExtension(serverExtensions);
            if (chosen == null || chosen.getProtectionProfiles().length != 1) {
                throw new TlsFatalAlert(AlertDescription.illegal_parameter);
            }
            chosenProfile = chosen.getProtectionProfiles()[0];
            boolean ours = false;
            for (int p : offeredProfiles) {
                ours |= p == chosenProfile;
            }
            if (!ours || SrtpProfile.byId(chosenProfile) == null) {
                throw new TlsFatalAlert(AlertDescription.illegal_parameter);
            }
        }

        @Override
        public TlsAuthentication getAuthentication() {
            return new TlsAuthentication() {
                @Override
                public void notifyServerCertificate(TlsServerCertificate serverCertificate) throws IOException {
                    checkFingerprint(serverCertificate.getCertificate());
                }

                @Override
                public TlsCredentials getClientCredentials(CertificateRequest certificateRequest) throws IOException {
                    return signer(context);
                }
            };
        }

        @Override
        public void notifyHandshakeComplete() throws IOException {
            super.notifyHandshakeComplete();
            complete(context, chosenProfile);
        }
    }

    /**
     * BouncyCastle's view of the network: records from {@link #offer}; records to send are packed into datagrams of
     * at most {@link #MTU} bytes, sent when the handshake waits for the peer ({@link #receive}), finishes or fails.
     * Handshake and ChangeCipherSpec records are packed; anything else (alerts, and application data we never send)
     * goes out at once, after what is pending, and may come from another thread ({@link #close()} sends
     * close_notify): the pending flight is only touched on the handshake thread, which alone sends handshake records.
     */
    private final class QueueTransport implements DatagramTransport {
        private final byte[] pending = new byte[MTU];
        private int pendingLength;

        @Override
        public int getReceiveLimit() {
            return MTU + 100;
        }

        @Override
        public int getSendLimit() {
            return MTU;
        }

        private volatile boolean transportClosed;

        @Override
        public int receive(byte[] buf, int off, int len, int waitMillis) throws IOException {
            flush(); // the handshake waits for the peer: our flight is complete
            if (closed || transportClosed) {
                throw new IOException("DTLS session closed");
            }
            byte[] d;
            try {
                d = incoming.poll(waitMillis, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                throw new InterruptedIOException("DTLS session closed");
            }
            if (d == null) {
                if (!handshakeComplete && !closed) {
                    retransmitTimeouts.incrementAndGet(); // BouncyCastle resends its last flight now
                }
                return -1;
            }
            int n = Math.min(len, d.length);
            System.arraycopy(d, 0, buf, off, n);
            return n;
        }

        @Override
        public void send(byte[] buf, int off, int len) {
            if (transportClosed || len <= 0) {
                return;
            }
            int contentType = buf[off] & 0xFF;
            boolean packable = (contentType == CONTENT_HANDSHAKE || contentType == CONTENT_CHANGE_CIPHER_SPEC)
                    && Thread.currentThread() == thread;
            if (!packable) {
                if (Thread.currentThread() == thread) {
                    flush();
                }
                emit(buf, off, len);
                return;
            }
            if (pendingLength + len > pending.length) {
                flush();
            }
            if (len > pending.length) {
                emit(buf, off, len); // cannot happen within our send limit; sent alone rather than dropped
                return;
            }
            System.arraycopy(buf, off, pending, pendingLength, len);
            pendingLength += len;
        }

        /**
         * Sends the records packed so far as one datagram (handshake thread only), in an array of its own: a sender
         * may keep what it is given (a session in memory does, {@link #offer}).
         */
        void flush() {
            if (pendingLength > 0) {
                int n = pendingLength;
                pendingLength = 0;
                if (!transportClosed) {
                    emit(java.util.Arrays.copyOf(pending, n), 0, n);
                }
            }
        }

        private void emit(byte[] buf, int off, int len) {
            datagramsSent.incrementAndGet();
            sender.send(buf, off, len);
        }

        @Override
        public void close() {
            transportClosed = true; // BouncyCastle closes it after a failure: still reported to the listener
        }
    }

    /** TLS record content types (RFC 5246 §6.2.1) that make up a handshake flight. */
    private static final int CONTENT_CHANGE_CIPHER_SPEC = 20;
    private static final int CONTENT_HANDSHAKE = 22;
}
