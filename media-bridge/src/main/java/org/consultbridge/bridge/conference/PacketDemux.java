package org.consultbridge.bridge.conference;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.srtp.SrtpTransformer;
import org.consultbridge.bridge.stun.StunClass;
import org.consultbridge.bridge.stun.StunException;
import org.consultbridge.bridge.stun.StunMessage;
import org.consultbridge.bridge.stun.StunMessageBuilder;
import org.consultbridge.bridge.transport.DropReason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first step of the packet path on one worker: which protocol a datagram (or ICE-TCP frame) carries (RFC 7983)
 * and whose transport it belongs to. STUN binding requests are answered here (ICE-lite: the ufrag names the
 * transport, its password checks the integrity); DTLS records go to the transport's handshake; SRTP and SRTCP are
 * copied out of the socket's buffer once, decrypted and handed to the endpoint's receive path. Owns the lookup
 * tables (ufrag, and the address of every validated candidate pair). Event loop only.
 */
final class PacketDemux {

    private static final Logger LOG = LoggerFactory.getLogger(PacketDemux.class);

    private final ByteBufAllocator alloc;
    private final DropCounters drops;
    private final PacketWriter writer;
    private final Map<String, Transport> transportsByUfrag = new HashMap<>();
    private final Map<InetSocketAddress, Transport> transportsByAddress = new HashMap<>();
    long datagramsReceived;
    long rtpReceived;
    long rtcpReceived;
    long rtpBytesReceived;

    PacketDemux(ByteBufAllocator alloc, DropCounters drops, PacketWriter writer) {
        this.alloc = alloc;
        this.drops = drops;
        this.writer = writer;
    }

    void registerUfrag(String ufrag, Transport t) {
        transportsByUfrag.put(ufrag, t);
    }

    void unregisterUfrag(String ufrag, Transport t) {
        transportsByUfrag.remove(ufrag, t);
    }

    void registerAddress(InetSocketAddress address, Transport t) {
        transportsByAddress.put(address, t);
    }

    void unregisterAddress(InetSocketAddress address, Transport t) {
        transportsByAddress.remove(address, t);
    }

    /**
     * RFC 7983 §7: the first byte tells STUN [0..3], DTLS [20..63] and RTP/RTCP [128..191] apart. {@code tcp} is the
     * ICE-TCP connection a frame came on (RFC 6544; its transport is the connection's), null for a UDP datagram.
     */
    void onPacket(ByteBuf content, InetSocketAddress sender, IceTcpConnection tcp) {
        datagramsReceived++;
        int length = content.readableBytes();
        if (length == 0) {
            drops.drop(DropReason.UNKNOWN_PROTOCOL);
            return;
        }
        if (length >= SfuBridge.MAX_DATAGRAM) {
            drops.drop(DropReason.OVERSIZED);
            return;
        }
        int first = content.getUnsignedByte(content.readerIndex());
        try {
            if (first <= 3) {
                onStun(content, sender, tcp);
            } else if (first >= 20 && first <= 63) {
                Transport t = tcp == null ? transportsByAddress.get(sender) : tcp.transport();
                if (t == null) {
                    drops.drop(DropReason.UNKNOWN_ADDRESS);
                } else if (!t.onDtls(content, sender, tcp)) {
                    drops.drop(DropReason.DTLS_QUEUE_FULL);
                }
            } else if (first >= 128 && first <= 191) {
                onSrtp(content, tcp == null ? transportsByAddress.get(sender) : tcp.transport());
            } else {
                drops.drop(DropReason.UNKNOWN_PROTOCOL);
            }
        } catch (RuntimeException e) {
            // parsers are written not to throw on bad input; if one still does, the datagram is lost, not the loop,
            // and it is counted on its own: a bug to find (the fuzz tests fail on any such drop)
            drops.drop(DropReason.INTERNAL_ERROR);
            LOG.debug("datagram from {} raised {}", sender, e.toString());
        }
    }

    private void onStun(ByteBuf content, InetSocketAddress sender, IceTcpConnection tcp) {
        if (!StunMessage.looksLikeStun(content)) {
            drops.drop(DropReason.STUN_MALFORMED);
            return;
        }
        StunMessage m;
        try {
            m = StunMessage.decode(content);
        } catch (StunException e) {
            drops.drop(DropReason.STUN_MALFORMED);
            return;
        }
        if (m.method() != 0x001 || m.messageClass() != StunClass.REQUEST) {
            drops.drop(DropReason.STUN_UNHANDLED); // indications (keepalives) and responses: nothing to do for ICE-lite
            return;
        }
        String username = m.username();
        int colon = username == null ? -1 : username.indexOf(':');
        if (colon <= 0) {
            drops.drop(DropReason.STUN_MALFORMED);
            return;
        }
        String ourUfrag = username.substring(0, colon);
        Transport t = transportsByUfrag.get(ourUfrag);
        byte[] pwd = t == null ? null : t.passwordFor(ourUfrag); // the current or, after a restart, the old one
        if (t == null || pwd == null || !t.remoteUfragMatches(username, colon)
                || tcp != null && tcp.transport() != null && tcp.transport() != t) { // RFC 6544 §7.2: one pair each
            drops.drop(DropReason.STUN_UNKNOWN_USERNAME);
            return;
        }
        // RFC 8445 §7.3 / RFC 5389 §10.1.3: short-term credential check with our password
        if (!m.hasMessageIntegrity() || !m.checkMessageIntegrity(pwd)
                || (m.hasFingerprint() && !m.checkFingerprint())) {
            drops.drop(DropReason.STUN_INTEGRITY);
            return;
        }
        byte[] response = StunMessageBuilder.bindingSuccess(m.transactionId())
                .xorMappedAddress(sender)
                .build(pwd, true);
        writer.sendStun(response, sender, tcp); // RFC 6544 §7.2: on TCP, on the connection of the request
        t.onValidCheck(sender, tcp, m.hasUseCandidate(), System.nanoTime(), pwd == t.localPwdBytes);
    }

    private void onSrtp(ByteBuf content, Transport t) {
        if (t == null) {
            drops.drop(DropReason.UNKNOWN_ADDRESS);
            return;
        }
        if (t.srtp == null) {
            drops.drop(DropReason.NO_KEYS);
            return;
        }
        int length = content.readableBytes();
        // jitsi-srtp works on arrays: one copy out of the socket's (direct) buffer into a pooled heap buffer
        ByteBuf pkt = alloc.heapBuffer(length + SrtpTransformer.MAX_TRAILER);
        try {
            pkt.writeBytes(content, content.readerIndex(), length);
            long now = System.nanoTime();
            if (RtcpPacket.isRtcp(pkt)) {
                if (!t.srtp.unprotectRtcp(pkt)) {
                    drops.drop(DropReason.SRTP_AUTH);
                } else if (!RtcpPacket.isValidCompound(pkt)) {
                    drops.drop(DropReason.RTCP_MALFORMED);
                } else {
                    rtcpReceived++;
                    t.endpoint.onRtcp(t, pkt, now);
                }
            } else if (length < 12) { // RFC 3711 §3.1: full validation needs the decrypted padding, below
                drops.drop(DropReason.RTP_MALFORMED);
            } else if (!t.srtp.unprotectRtp(pkt)) {
                drops.drop(DropReason.SRTP_AUTH);
            } else if (!RtpPacket.isValidRtp(pkt)) {
                drops.drop(DropReason.RTP_MALFORMED);
            } else if (t.direction != TransportDirection.PUBLISH) {
                drops.drop(DropReason.UNKNOWN_SSRC); // a subscribe transport carries no media towards the bridge
            } else {
                rtpReceived++;
                rtpBytesReceived += pkt.readableBytes();
                t.endpoint.onRtp(t, pkt, now);
            }
        } finally {
            pkt.release();
        }
    }
}
