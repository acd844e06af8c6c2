package org.consultbridge.signaling.turn;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.UnaryOperator;
import org.consultbridge.bridge.stun.StunClass;
import org.consultbridge.bridge.stun.StunException;
import org.consultbridge.bridge.stun.StunMessage;
import org.consultbridge.bridge.stun.StunMessageBuilder;
import org.consultbridge.bridge.stun.StunMethod;

/**
 * A minimal TURN client over UDP (RFC 8656) with long-term credentials (RFC 8489 §9.2), for probing a TURN server
 * and for tests: Binding, Allocate, CreatePermission, Refresh. Blocking; one transaction at a time; never on a
 * Netty event loop. Uses media-bridge's STUN codec.
 */
public final class TurnClient implements AutoCloseable {

    /** RFC 8656 §18.7: REQUESTED-TRANSPORT protocol number of UDP. */
    private static final int UDP = 17;
    /** RFC 8489 §6.2.1: initial retransmission timeout; doubled after each retransmission. */
    private static final long RTO_MILLIS = 500;

    private final DatagramSocket socket;
    private final InetSocketAddress server;
    private final String username;
    private final String password;
    private final Duration timeout;
    private String realm;
    private String nonce;
    private byte[] key;

    public TurnClient(InetSocketAddress server, String username, String password, Duration timeout)
            throws IOException {
        this.server = server;
        this.username = username;
        this.password = password;
        this.timeout = timeout;
        this.socket = new DatagramSocket();
    }

    /** RFC 8489 §3: a Binding request; the server answers with our reflexive address. */
    public StunMessage binding() throws IOException {
        byte[] tx = StunMessageBuilder.newTransactionId();
        return transact(StunMessageBuilder.bindingRequest(tx).build(null, true), tx);
    }

    /**
     * RFC 8656 §7.1: Allocate a UDP relay. The first request carries no credentials and gets 401 with REALM and
     * NONCE (RFC 8489 §9.2.3); the retry carries USERNAME, REALM, NONCE and MESSAGE-INTEGRITY. Returns the final
     * response: a success with XOR-RELAYED-ADDRESS, or an error (401 for bad credentials, 486 over quota, ...).
     */
    public StunMessage allocate() throws IOException {
        return authenticated(StunMethod.ALLOCATE, b -> b.requestedTransport(UDP));
    }

    /** RFC 8656 §9: permission for a peer address (403 when the server's peer policy forbids it). */
    public StunMessage createPermission(InetAddress peer) throws IOException {
        return authenticated(StunMethod.CREATE_PERMISSION, b -> b.xorPeerAddress(new InetSocketAddress(peer, 0)));
    }

    /** RFC 8656 §7.2: Refresh; lifetime 0 deletes the allocation. */
    public StunMessage refresh(long lifetimeSeconds) throws IOException {
        return authenticated(StunMethod.REFRESH, b -> b.lifetime(lifetimeSeconds));
    }

    private StunMessage authenticated(int method, UnaryOperator<StunMessageBuilder> attributes) throws IOException {
        if (nonce == null) {
            // RFC 8489 §9.2.3.1: the first request goes without credentials to learn REALM and NONCE
            byte[] tx = StunMessageBuilder.newTransactionId();
            StunMessage challenge = transact(attributes.apply(StunMessageBuilder.request(method, tx)).build(null, true),
                    tx);
            if (challenge.messageClass() != StunClass.ERROR_RESPONSE || challenge.errorCode() != 401
                    || challenge.realm() == null || challenge.nonce() == null) {
                return challenge;
            }
            learn(challenge);
        }
        StunMessage response = null;
        for (int attempt = 0; attempt < 2; attempt++) {
            byte[] tx = StunMessageBuilder.newTransactionId();
            byte[] request = attributes.apply(StunMessageBuilder.request(method, tx)).username(username).realm(realm)
                    .nonce(nonce).build(key, true);
            response = transact(request, tx);
            // RFC 8489 §9.2.5: 438 Stale Nonce carries a fresh NONCE: retry once with it
            if (response.messageClass() == StunClass.ERROR_RESPONSE && response.errorCode() == 438
                    && response.nonce() != null) {
                learn(response);
                continue;
            }
            break;
        }
        if (response.messageClass() == StunClass.SUCCESS_RESPONSE && !response.checkMessageIntegrity(key)) {
            // RFC 8489 §9.2.5: a success response must be authenticated with the same key
            throw new IOException("TURN success response failed its MESSAGE-INTEGRITY check");
        }
        return response;
    }

    private void learn(StunMessage challenge) {
        realm = challenge.realm();
        nonce = challenge.nonce();
        key = StunMessageBuilder.longTermKey(username, realm, password);
    }

    /** Sends and retransmits (RFC 8489 §6.2.1: RTO doubling) until the matching response or the timeout. */
    private StunMessage transact(byte[] request, byte[] tx) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long rto = RTO_MILLIS;
        byte[] buf = new byte[2048];
        while (true) {
            socket.send(new DatagramPacket(request, request.length, server));
            long resendAt = System.nanoTime() + rto * 1_000_000L;
            rto *= 2;
            while (true) {
                long now = System.nanoTime();
                long wait = Math.min(resendAt, deadline) - now;
                if (wait <= 0) {
                    if (now >= deadline) {
                        throw new SocketTimeoutException("no answer from TURN server " + server + " within "
                                + timeout.toMillis() + " ms");
                    }
                    break;
                }
                socket.setSoTimeout((int) Math.max(1, wait / 1_000_000L));
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                } catch (SocketTimeoutException e) {
                    continue;
                }
                try {
                    StunMessage m = StunMessage.decode(p.getData(), p.getOffset(), p.getLength());
                    if (Arrays.equals(m.transactionId(), tx) && m.messageClass() != StunClass.REQUEST) {
                        return m;
                    }
                } catch (StunException e) {
                    // not STUN, or malformed: not our answer
                }
            }
        }
    }

    /** The realm learnt from the server's 401, or null before the first authenticated request. */
    public String realm() {
        return realm;
    }

    @Override
    public void close() {
        socket.close();
    }

    /** "401 Unauthorized" style text of an error response, for logs and /healthz. */
    public static String describe(StunMessage m) {
        if (m.messageClass() == StunClass.ERROR_RESPONSE) {
            return m.errorCode() + (m.errorReason() == null || m.errorReason().isBlank() ? "" : " " + m.errorReason());
        }
        return m.messageClass().name().toLowerCase(java.util.Locale.ROOT);
    }
}
