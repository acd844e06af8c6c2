package org.consultbridge.bridge.conference;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.dtls.DtlsListener;
import org.consultbridge.bridge.dtls.DtlsRole;
import org.consultbridge.bridge.dtls.DtlsSession;
import org.consultbridge.bridge.dtls.SrtpKeys;
import org.consultbridge.bridge.sdp.LocalTransportParams;
import org.consultbridge.bridge.srtp.SrtpTransformer;
import org.consultbridge.bridge.transport.ConsentFreshness;
import org.consultbridge.bridge.transport.DropReason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One peer connection's transport on the bridge: ICE-lite state, the DTLS session and, once keyed, SRTP.
 * Owned by the bridge's event loop: every field is touched only there, except what the DTLS handshake thread
 * reads through volatile fields ({@link #dtlsPeer}).
 */
final class Transport {

    private static final Logger LOG = LoggerFactory.getLogger(Transport.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ICE_CHARS =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".toCharArray();
    /** RFC 7675 §5.1: consent expires 30 s after the last authenticated check (the bridge's default). */
    static final long CONSENT_TIMEOUT_NANOS = ConsentFreshness.DEFAULT_TIMEOUT_NANOS;
    /** How many addresses one transport may validate (bounds memory against a peer cycling ports). */
    private static final int MAX_VALIDATED_ADDRESSES = 8;

    final SfuBridge bridge;
    final Endpoint endpoint;
    final TransportDirection direction;
    // ICE credentials: replaced on an ICE restart (RFC 8445 §9), so loop-only like the rest
    String localUfrag;
    String localPwd;
    byte[] localPwdBytes;
    /**
     * The credentials before the last ICE restart, still answered until the peer checks with the new ones (its
     * description may reach it after our next check arrives); null when none.
     */
    private String previousUfrag;
    private byte[] previousPwdBytes;
    private String previousRemoteUfrag;
    /** Sender SSRC of the RTCP the bridge writes on this transport. */
    final long rtcpSsrc;

    String remoteUfrag;
    private final List<InetSocketAddress> validated = new ArrayList<>(2);
    /** Nominated address (USE-CANDIDATE) or, before nomination, the latest validated one. */
    InetSocketAddress selected;
    private boolean nominated;
    /** Consent (RFC 7675) of the selected pair: {@link #selected} and {@link #selectedTcp}. */
    final ConsentFreshness consent;
    /** FAILED because consent expired (heals when checks come back), not because DTLS failed (final). */
    private boolean failedByConsent;
    /** Address the last DTLS record came from: where DTLS replies go (read on the handshake thread). */
    volatile InetSocketAddress dtlsPeer;

    // ICE-TCP (RFC 6544): connections authenticated for this transport, and the selected pair's when it is TCP
    private final List<IceTcpConnection> tcpPaths = new ArrayList<>(1);
    /** The connection of the selected pair when that pair is TCP, else null (loop only). */
    IceTcpConnection selectedTcp;
    /** The connection the last DTLS record came on, null when it came over UDP (read on the handshake thread). */
    volatile IceTcpConnection dtlsPeerTcp;

    DtlsRole dtlsRole = DtlsRole.SERVER;
    private String remoteFingerprintAlgorithm;
    private String remoteFingerprint;
    DtlsSession dtls;
    SrtpTransformer srtp;
    TransportState state = TransportState.NEW;
    /** An ICE restart happened: a failed transport may come back (see {@link #restartIce}). */
    private boolean restarted;

    /** When this transport first reached CONNECTED ({@link System#nanoTime()}), 0 before. */
    long connectedAtNanos;
    /** When the first valid ICE check arrived ({@link System#nanoTime()}), 0 before; see {@link #startDtls}. */
    private long firstCheckNanos;
    long rtpPacketsIn;
    long rtpBytesIn;
    long rtpPacketsOut;
    long rtpBytesOut;
    long rtcpPacketsIn;
    long rtcpPacketsOut;

    Transport(SfuBridge bridge, Endpoint endpoint, TransportDirection direction) {
        this.bridge = bridge;
        this.endpoint = endpoint;
        this.direction = direction;
        // RFC 8839 §5.4: ufrag >= 4 and pwd >= 22 characters of ice-char
        this.localUfrag = randomIceString(8);
        this.localPwd = randomIceString(24);
        this.localPwdBytes = localPwd.getBytes(StandardCharsets.UTF_8);
        this.rtcpSsrc = randomSsrc();
        this.consent = new ConsentFreshness(bridge.consentTimeoutNanos());
        // the first transport of the process at the latest: compiled handshakes for the joins that follow (a no-op
        // once started; the bridge's start is the better place, before anybody joins)
        DtlsSession.warmUpInBackground();
    }

    static String randomIceString(int length) {
        char[] c = new char[length];
        for (int i = 0; i < length; i++) {
            c[i] = ICE_CHARS[RANDOM.nextInt(ICE_CHARS.length)];
        }
        return new String(c);
    }

    static long randomSsrc() {
        long v;
        do {
            v = RANDOM.nextInt() & 0xFFFF_FFFFL;
        } while (v == 0);
        return v;
    }

    LocalTransportParams localParams() {
        return new LocalTransportParams(localUfrag, localPwd, bridge.certificate().sha256Fingerprint(),
                bridge.candidates());
    }

    void setRemote(String ufrag, String fingerprintAlgorithm, String fingerprint, DtlsRole ourRole) {
        this.remoteUfrag = ufrag;
        this.remoteFingerprintAlgorithm = fingerprintAlgorithm;
        this.remoteFingerprint = fingerprint;
        this.dtlsRole = ourRole;
        if (dtls != null) {
            dtls.setRemoteFingerprint(fingerprintAlgorithm, fingerprint);
        } else if (ourRole == DtlsRole.CLIENT && selected != null) {
            startDtls();
        }
    }

    /**
     * ICE restart (RFC 8445 §9, RFC 8839 §4.4.1.1.1): new local ufrag and password. The selected pair, DTLS and SRTP
     * stay: media goes on over the old pair until checks with the new credentials select one. The old credentials
     * are answered until the first check with the new ones. A transport whose consent had expired becomes
     * connected again with the first valid check (its keys are still there). Loop only.
     */
    void restartIce() {
        if (state == TransportState.CLOSED) {
            return;
        }
        if (previousUfrag != null) {
            // the peer never checked with the current credentials: it still has the previous ones, which stay
            bridge.unregisterUfrag(localUfrag, this);
        } else {
            previousUfrag = localUfrag;
            previousPwdBytes = localPwdBytes;
            previousRemoteUfrag = remoteUfrag;
        }
        localUfrag = randomIceString(8);
        localPwd = randomIceString(24);
        localPwdBytes = localPwd.getBytes(StandardCharsets.UTF_8);
        bridge.registerUfrag(localUfrag, this);
        // the peer's new ufrag comes with its next description; until then checks from either generation count
        remoteUfrag = null;
        restarted = true;
    }

    /** The password for checks addressed to {@code ufrag} (ours now, or before the restart); null: not ours. */
    byte[] passwordFor(String ufrag) {
        if (ufrag.equals(localUfrag)) {
            return localPwdBytes;
        }
        return ufrag.equals(previousUfrag) ? previousPwdBytes : null;
    }

    /** A check with the current credentials arrived: the peer has them, the old ones go. */
    private void currentCredentialsUsed() {
        if (previousUfrag != null) {
            bridge.unregisterUfrag(previousUfrag, this);
            previousUfrag = null;
            previousPwdBytes = null;
            previousRemoteUfrag = null;
        }
    }

    boolean remoteUfragMatches(String username, int colon) {
        // USERNAME of a check sent to us is "ourUfrag:theirUfrag" (RFC 8445 §7.2.2). Before the remote
        // description is known (subscribe offer just sent), any remote ufrag is accepted.
        // After an ICE restart, checks to our old ufrag carry the peer's old one.
        String expected = previousUfrag != null && colon == previousUfrag.length()
                && username.startsWith(previousUfrag) ? previousRemoteUfrag : remoteUfrag;
        return expected == null || username.regionMatches(colon + 1, expected, 0, expected.length())
                && username.length() == colon + 1 + expected.length();
    }

    /**
     * An authenticated Binding request arrived from {@code from} (RFC 8445 §7.3.1.4 for the lite side), on the ICE-TCP
     * connection {@code tcp} or over UDP when that is null.
     *
     * @param current the check used the current credentials (not those from before an ICE restart)
     */
    void onValidCheck(InetSocketAddress from, IceTcpConnection tcp, boolean useCandidate, long nowNanos,
                      boolean current) {
        if (current) {
            currentCredentialsUsed();
        }
        if (tcp != null) {
            addTcpPath(tcp);
        } else if (!validated.contains(from)) {
            if (validated.size() >= MAX_VALIDATED_ADDRESSES) {
                InetSocketAddress evicted = validated.remove(0);
                if (!evicted.equals(selected)) {
                    bridge.unregisterAddress(evicted, this);
                }
            }
            validated.add(from);
            bridge.registerAddress(from, this);
        }
        boolean onSelectedPair = tcp == selectedTcp && from.equals(selected);
        if (useCandidate || !nominated) {
            // RFC 8445 §7.3.1.5: a nominated pair (or, before nomination, the latest valid one) carries the media;
            // a check that selects a pair (a new nomination, a network change) is that pair's consent (RFC 7675 §5.1)
            nominated |= useCandidate;
            selected = from;
            selectedTcp = tcp;
            onSelectedPair = true;
        }
        // RFC 7675 §5.1: consent is per pair. A check on another valid pair (a browser's backup pings) is answered
        // but does not keep the selected pair alive.
        if (onSelectedPair && consent.refresh(nowNanos)) {
            consentRegained();
        }
        if (state == TransportState.NEW) {
            firstCheckNanos = nowNanos;
            setState(TransportState.CONNECTING);
        } else if (state == TransportState.FAILED && restarted && current && srtp != null) {
            setState(TransportState.CONNECTED); // consent is back after an ICE restart; the keys never went
        }
        if (dtls == null && dtlsRole == DtlsRole.CLIENT && remoteFingerprint != null) {
            startDtls();
        }
    }

    /** A DTLS record from a validated address or ICE-TCP connection ({@code tcp}, else null; called on the loop). */
    boolean onDtls(ByteBuf content, InetSocketAddress from, IceTcpConnection tcp) {
        dtlsPeerTcp = tcp;
        dtlsPeer = from;
        if (dtls == null) {
            if (dtlsRole != DtlsRole.SERVER) {
                return true; // our client session starts after ICE; a stray record before it is harmless
            }
            startDtls();
        }
        byte[] data = new byte[content.readableBytes()];
        content.getBytes(content.readerIndex(), data);
        return dtls.offer(data, 0, data.length);
    }

    private void startDtls() {
        if (dtlsPeer == null) {
            dtlsPeerTcp = selectedTcp;
            dtlsPeer = selected;
        }
        dtls = new DtlsSession(bridge.certificate(), dtlsRole, this::sendDtls, new DtlsListener() {
            @Override
            public void onHandshakeComplete(SrtpKeys keys) {
                bridge.loop().execute(() -> onKeys(keys));
            }

            @Override
            public void onHandshakeFailed(Exception cause) {
                LOG.info("DTLS handshake failed on {} transport of endpoint {}: {}", direction, endpoint.id(),
                        cause.toString());
                bridge.loop().execute(() -> {
                    bridge.countDtlsFailure();
                    failedByConsent = false; // final: consent coming back cannot heal a failed handshake
                    setState(TransportState.FAILED);
                });
            }

            @Override
            public void onClosed() {
                bridge.loop().execute(() -> {
                    if (state != TransportState.CLOSED) {
                        failedByConsent = false; // the peer closed DTLS: final
                        setState(TransportState.FAILED);
                    }
                });
            }
        });
        if (remoteFingerprint != null) {
            dtls.setRemoteFingerprint(remoteFingerprintAlgorithm, remoteFingerprint);
        }
        if (dtlsRole == DtlsRole.SERVER && firstCheckNanos != 0) {
            // a ClientHello (what starts a server session) follows the client's first answered check by a round
            // trip and its start-up time: our timer need not resend the first flight before about twice that
            dtls.setInitialRetransmitMillis(DtlsSession.serverRetransmitMillis(
                    (System.nanoTime() - firstCheckNanos) / 1_000_000));
        }
        dtls.start();
    }

    /** Called on the DTLS handshake thread: Netty's channel write is thread-safe. */
    private void sendDtls(byte[] data, int off, int len) {
        IceTcpConnection tcp = dtlsPeerTcp;
        InetSocketAddress to = dtlsPeer;
        if (tcp != null) {
            tcp.sendDtls(data, off, len); // RFC 6544 §7.2: DTLS goes back on the connection it came on
        } else if (to != null) {
            bridge.sendDtls(data, off, len, to);
        }
    }

    private void onKeys(SrtpKeys keys) {
        if (state == TransportState.CLOSED) {
            return;
        }
        srtp = SrtpTransformer.create(keys, dtlsRole);
        if (failedByConsent) {
            // the handshake finished while the peer's checks had stopped: keyed, but silent until consent returns
            LOG.info("{} transport of endpoint {} keyed ({}) without ICE consent", direction, endpoint.id(),
                    keys.profile());
            return;
        }
        LOG.info("{} transport of endpoint {} connected ({})", direction, endpoint.id(), keys.profile());
        setState(TransportState.CONNECTED);
    }

    /**
     * Where media goes: the selected pair, only while CONNECTED, which a transport is not while consent is expired
     * (RFC 7675 §5.1: no packet to a pair without consent).
     */
    InetSocketAddress sendAddress() {
        return state == TransportState.CONNECTED ? selected : null;
    }

    /**
     * Whether media may be sent now (keyed and consent fresh). False during an expiry counts the packet the caller
     * will not send as {@link DropReason#CONSENT_EXPIRED}; on a connected transport this costs what
     * {@link #isConnected()} costs (packet path: no allocation, no lock).
     */
    boolean canSend() {
        if (state == TransportState.CONNECTED && srtp != null) {
            return true;
        }
        if (failedByConsent && srtp != null) { // without keys nothing would have left anyway
            bridge.drop(DropReason.CONSENT_EXPIRED);
        }
        return false;
    }

    /**
     * Keyed, and connected or held back only by expired consent: what periodic RTCP is built for ({@link #canSend()}
     * then sends it or counts it), so that the drop counter counts packets that would have left, nothing else.
     */
    boolean keyedForMedia() {
        return srtp != null && (state == TransportState.CONNECTED || failedByConsent);
    }

    /** ICE-TCP: the connection to send on when the selected pair is TCP (RFC 6544), null for UDP. */
    IceTcpConnection sendTcp() {
        return selectedTcp;
    }

    private void addTcpPath(IceTcpConnection tcp) {
        if (tcp.transport() == this) {
            return;
        }
        if (tcpPaths.size() >= MAX_VALIDATED_ADDRESSES) {
            // bounds what one peer can hold open: its oldest connection that is not the selected pair goes
            IceTcpConnection evicted = tcpPaths.get(0) != selectedTcp ? tcpPaths.get(0) : tcpPaths.get(1);
            tcpPaths.remove(evicted);
            evicted.close();
        }
        tcpPaths.add(tcp);
        tcp.bind(this);
    }

    /** The ICE-TCP connection closed (on the loop): the transport loses that path until a check selects another. */
    void onTcpClosed(IceTcpConnection tcp) {
        tcpPaths.remove(tcp);
        if (selectedTcp == tcp) {
            selectedTcp = null;
            selected = null;
            nominated = false;
        }
        if (dtlsPeerTcp == tcp) {
            dtlsPeerTcp = null;
            dtlsPeer = null;
        }
    }

    boolean isConnected() {
        return state == TransportState.CONNECTED && srtp != null;
    }

    /**
     * Periodic check on the loop (once a second): consent freshness (RFC 7675 §5.1). Expired: FAILED, so nothing is
     * sent ({@link #sendAddress()}, {@link #canSend()}); the peer's next check on the pair heals it.
     */
    void checkConsent(long nowNanos) {
        if ((state == TransportState.CONNECTED || state == TransportState.CONNECTING) && consent.expire(nowNanos)) {
            LOG.info("ICE consent expired on {} transport of endpoint {}: no check for {} ms, sending stopped",
                    direction, endpoint.id(), (nowNanos - consent.lastRefreshNanos()) / 1_000_000);
            bridge.countIceFailure();
            failedByConsent = true;
            endpoint.consentChanged(this, false);
            setState(TransportState.FAILED);
        }
    }

    /** A check renewed consent after it had expired: back to where the transport was (RFC 7675 §5.1). */
    private void consentRegained() {
        if (!failedByConsent || state != TransportState.FAILED) {
            return; // expired while in another state (closed) or failed for good since (DTLS)
        }
        failedByConsent = false;
        LOG.info("ICE consent regained on {} transport of endpoint {}: sending resumes", direction, endpoint.id());
        endpoint.consentChanged(this, true);
        setState(srtp != null ? TransportState.CONNECTED : TransportState.CONNECTING);
    }

    /** Consent of the selected pair has expired and not been renewed: the transport sends nothing. */
    boolean consentExpired() {
        return failedByConsent;
    }

    private void setState(TransportState newState) {
        if (state == newState) {
            return;
        }
        state = newState;
        if (newState == TransportState.CONNECTED && connectedAtNanos == 0) {
            connectedAtNanos = System.nanoTime(); // for the join-time metric (QualitySnapshots)
        }
        endpoint.transportStateChanged(this, newState);
    }

    void close() {
        if (state == TransportState.CLOSED) {
            return;
        }
        state = TransportState.CLOSED;
        for (InetSocketAddress a : validated) {
            bridge.unregisterAddress(a, this);
        }
        validated.clear();
        for (IceTcpConnection c : new ArrayList<>(tcpPaths)) {
            c.close();
        }
        tcpPaths.clear();
        selectedTcp = null;
        dtlsPeerTcp = null;
        bridge.unregisterUfrag(localUfrag, this);
        if (previousUfrag != null) {
            bridge.unregisterUfrag(previousUfrag, this);
        }
        if (dtls != null) {
            dtls.close();
        }
        if (srtp != null) {
            srtp.close();
            srtp = null;
        }
    }
}
