package org.consultbridge.bridge.srtp;

import io.netty.buffer.ByteBuf;
import io.netty.util.collection.LongObjectHashMap;
import java.security.GeneralSecurityException;
import org.consultbridge.bridge.dtls.DtlsRole;
import org.consultbridge.bridge.dtls.SrtpKeys;
import org.consultbridge.bridge.dtls.SrtpProfile;
import org.jitsi.srtp.SrtcpCryptoContext;
import org.jitsi.srtp.SrtpContextFactory;
import org.jitsi.srtp.SrtpCryptoContext;
import org.jitsi.srtp.SrtpErrorStatus;
import org.jitsi.srtp.SrtpPolicy;
import org.jitsi.srtp.crypto.Aes;
import org.jitsi.srtp.crypto.JitsiOpenSslProvider;
import org.jitsi.utils.logging2.Logger;
import org.jitsi.utils.logging2.LoggerImpl;

/**
 * SRTP and SRTCP (RFC 3711, RFC 7714) for one transport, with jitsi-srtp's contexts: one factory for what we send
 * (our DTLS role's keys) and one for what we receive. Works in place on array-backed (heap) {@link ByteBuf}s through
 * one reusable adapter, so the packet path allocates nothing. Not thread-safe: owned by one event loop.
 */
public final class SrtpTransformer {

    /** Bytes a protect may append: SRTCP index (4) + the longest tag (16, GCM). */
    public static final int MAX_TRAILER = 20;
    /** Authenticated streams per direction a peer may have: far more than a browser uses, and memory stays bounded. */
    static final int MAX_STREAMS = 256;
    private static final Logger JITSI_LOGGER = new LoggerImpl(SrtpTransformer.class.getName());
    /**
     * The AES implementation behind every SRTP context. jitsi-srtp otherwise benchmarks every provider at start (slow,
     * noisy), so we choose: its OpenSSL binding (libjitsisrtp + the system's libcrypto) when it loads, else SunJCE.
     * Both are AES-NI fast, but SunJCE's GCM allocates its whole engine state on every {@code Cipher.init}, i.e. on
     * every packet (~870 bytes per packet and direction; the OpenSSL binding ~100: ForwardingBenchmark -prof gc),
     * which on a server pinned to one core turns into collector work competing with the packet path. Override with
     * {@code -Dconsultbridge.srtp.aes=sunjce|openssl}.
     */
    public static final String AES_FACTORY = chooseAesFactory(System.getProperty("consultbridge.srtp.aes", "auto"));

    static {
        Aes.setFactoryClassName(AES_FACTORY);
        // jitsi-srtp logs every refused packet (a replay, a failed authentication) at SEVERE, on the event loop:
        // one log line per packet that anyone on the network can send (or the network duplicate). Every refusal is
        // reported by the return value and counted under a DropReason instead.
        JITSI_LOGGER.setLevelOff();
    }

    static String chooseAesFactory(String wanted) {
        String openSsl = "org.jitsi.srtp.crypto.Aes$OpenSSLCipherFactory";
        String sunJce = "org.jitsi.srtp.crypto.Aes$SunJCECipherFactory";
        return switch (wanted) {
            case "sunjce" -> sunJce;
            case "openssl" -> openSsl;
            default -> openSslLoads() ? openSsl : sunJce;
        };
    }

    private static boolean openSslLoads() {
        try {
            return JitsiOpenSslProvider.isLoaded();
        } catch (LinkageError e) {
            return false;
        }
    }

    private final SrtpContextFactory sendFactory;
    private final SrtpContextFactory receiveFactory;
    // SSRC-keyed without boxing per packet (Netty's primitive map; keys are unsigned 32-bit in a long)
    private final LongObjectHashMap<SrtpCryptoContext> sendRtp = new LongObjectHashMap<>();
    private final LongObjectHashMap<SrtpCryptoContext> receiveRtp = new LongObjectHashMap<>();
    private final LongObjectHashMap<SrtcpCryptoContext> sendRtcp = new LongObjectHashMap<>();
    private final LongObjectHashMap<SrtcpCryptoContext> receiveRtcp = new LongObjectHashMap<>();
    private final ByteBufArray view = new ByteBufArray();
    /** Bytes a successful protect appends: the tag (RTP); E flag + SRTCP index and the tag (RTCP). */
    private final int rtpTrailer;
    private final int rtcpTrailer;
    private boolean closed;

    private SrtpTransformer(SrtpContextFactory sendFactory, SrtpContextFactory receiveFactory, SrtpProfile profile) {
        this.sendFactory = sendFactory;
        this.receiveFactory = receiveFactory;
        // RFC 7714 §8: 16-octet GCM tag; RFC 3711 §4.2 with RFC 5764: 80-bit HMAC tag; SRTCP adds 4 (§3.4, RFC 7714 §17)
        this.rtpTrailer = profile == SrtpProfile.AEAD_AES_128_GCM ? 16 : 10;
        this.rtcpTrailer = rtpTrailer + 4;
    }

    /**
     * Loads jitsi-srtp's classes and native library now (about a second, once per process), so that the first
     * call on an event loop does not stall every other call's packets.
     */
    public static void warmUp() {
        for (SrtpProfile p : SrtpProfile.values()) {
            SrtpKeys k = new SrtpKeys(p, new byte[p.keyLength()], new byte[p.saltLength()], new byte[p.keyLength()],
                    new byte[p.saltLength()]);
            SrtpTransformer t = create(k, DtlsRole.SERVER);
            io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.buffer(12 + 20 + MAX_TRAILER);
            b.writeByte(0x80).writeByte(96).writeShort(1).writeInt(1).writeInt(1).writeZero(20);
            t.protectRtp(b);
            t.close();
        }
    }

    public static SrtpTransformer create(SrtpKeys keys, DtlsRole ourRole) {
        SrtpPolicy rtp = policy(keys.profile());
        SrtpPolicy rtcp = policy(keys.profile());
        SrtpContextFactory send = new SrtpContextFactory(true, keys.localKey(ourRole), keys.localSalt(ourRole),
                rtp, rtcp, JITSI_LOGGER);
        SrtpContextFactory receive = new SrtpContextFactory(false, keys.remoteKey(ourRole),
                keys.remoteSalt(ourRole), policy(keys.profile()), policy(keys.profile()), JITSI_LOGGER);
        return new SrtpTransformer(send, receive, keys.profile());
    }

    /** RFC 3711 §5 (AES-CM 128, HMAC-SHA1 80-bit tag, 112-bit salt) and RFC 7714 §12 (AES-GCM 128, 96-bit salt). */
    static SrtpPolicy policy(SrtpProfile profile) {
        return switch (profile) {
            case AES_CM_128_HMAC_SHA1_80 -> new SrtpPolicy(SrtpPolicy.AESCM_ENCRYPTION, 16,
                    SrtpPolicy.HMACSHA1_AUTHENTICATION, 20, 10, 14);
            case AEAD_AES_128_GCM -> new SrtpPolicy(SrtpPolicy.AESGCM_ENCRYPTION, 16,
                    SrtpPolicy.NULL_AUTHENTICATION, 0, 16, 12);
        };
    }

    public boolean protectRtp(ByteBuf packet) {
        if (closed || packet.readableBytes() < 12 || packet.writableBytes() < MAX_TRAILER || !packet.hasArray()) {
            return false;
        }
        try {
            long ssrc = packet.getUnsignedInt(packet.readerIndex() + 8);
            SrtpCryptoContext c = sendRtp.get(ssrc);
            if (c == null) {
                c = sendFactory.deriveContext((int) ssrc, 0);
                sendRtp.put(ssrc, c);
            }
            // RFC 7714 §8.1: the GCM nonce comes from SSRC and index, so an index must never be protected twice;
            // jitsi-srtp's send context refuses an index it has used or one more than 64 behind the highest
            // (SrtpTransformerTest.sentIndicesAreNeverReused), whichever AES implementation is behind it
            return protect(packet, c, null, rtpTrailer);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /**
     * One protect, accepted only if it appended exactly the trailer. jitsi-srtp's GCM path ignores a cipher failure
     * (SunJCE refuses to reuse the IV it has just used, e.g. a duplicate packet forwarded twice) and reports OK with
     * the payload still in plaintext; the length check keeps such a packet from ever leaving as "SRTP".
     */
    private boolean protect(ByteBuf packet, SrtpCryptoContext rtp, SrtcpCryptoContext rtcp, int trailer)
            throws GeneralSecurityException {
        view.wrap(packet);
        int before = view.getLength();
        SrtpErrorStatus status = rtp != null ? rtp.transformPacket(view) : rtcp.transformPacket(view);
        return status == SrtpErrorStatus.OK && view.getLength() == before + trailer && view.commit(packet);
    }

    public boolean unprotectRtp(ByteBuf packet) {
        if (closed || packet.readableBytes() < 12 || !packet.hasArray()) {
            return false;
        }
        try {
            long ssrc = packet.getUnsignedInt(packet.readerIndex() + 8);
            SrtpCryptoContext c = receiveRtp.get(ssrc);
            boolean fresh = c == null;
            if (fresh) {
                if (receiveRtp.size() >= MAX_STREAMS) {
                    return false;
                }
                c = receiveFactory.deriveContext((int) ssrc, 0);
            }
            view.wrap(packet);
            boolean ok = c.reverseTransformPacket(view, false) == SrtpErrorStatus.OK && view.commit(packet);
            if (ok && fresh) {
                receiveRtp.put(ssrc, c); // kept only once a packet authenticated: forged SSRCs leave nothing behind
            }
            return ok;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    public boolean protectRtcp(ByteBuf packet) {
        if (closed || packet.readableBytes() < 8 || packet.writableBytes() < MAX_TRAILER || !packet.hasArray()) {
            return false;
        }
        try {
            long ssrc = packet.getUnsignedInt(packet.readerIndex() + 4);
            SrtcpCryptoContext c = sendRtcp.get(ssrc);
            if (c == null) {
                c = sendFactory.deriveControlContext((int) ssrc);
                sendRtcp.put(ssrc, c);
            }
            return protect(packet, null, c, rtcpTrailer);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    public boolean unprotectRtcp(ByteBuf packet) {
        if (closed || packet.readableBytes() < 8 + 4 + 10 || !packet.hasArray()) {
            return false;
        }
        try {
            long ssrc = packet.getUnsignedInt(packet.readerIndex() + 4);
            SrtcpCryptoContext c = receiveRtcp.get(ssrc);
            boolean fresh = c == null;
            if (fresh) {
                if (receiveRtcp.size() >= MAX_STREAMS) {
                    return false;
                }
                c = receiveFactory.deriveControlContext((int) ssrc);
            }
            view.wrap(packet);
            boolean ok = c.reverseTransformPacket(view) == SrtpErrorStatus.OK && view.commit(packet);
            if (ok && fresh) {
                receiveRtcp.put(ssrc, c);
            }
            return ok;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    public void close() {
        closed = true;
        sendFactory.close();
        receiveFactory.close();
        sendRtp.clear();
        receiveRtp.clear();
        sendRtcp.clear();
        receiveRtcp.clear();
    }
}
