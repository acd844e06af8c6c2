package org.consultbridge.bridge.conference;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;

/**
 * The last step of the packet path on one worker: SRTP protect, then the UDP socket or the transport's ICE-TCP
 * connection, and one flush per read batch or timer tick (so Netty hands a batch to sendmmsg(2) instead of one
 * system call per packet). Counts what it sent. Owned by the worker's event loop (DTLS records excepted, see
 * {@link #sendDtls}).
 */
final class PacketWriter {

    private final Channel channel;
    /** The worker's ICE-TCP listener, whose connections are flushed with the socket; null when off. */
    private IceTcpServer tcp;
    private boolean flushPending;
    long rtpForwarded;
    long rtpBytesForwarded;

    PacketWriter(Channel channel) {
        this.channel = channel;
    }

    void tcp(IceTcpServer server) {
        this.tcp = server;
    }

    /** Encrypts and queues an RTP packet; takes ownership of {@code pkt}. */
    void sendRtp(Transport t, ByteBuf pkt) {
        InetSocketAddress to = t.sendAddress();
        if (to == null || !t.srtp.protectRtp(pkt)) {
            pkt.release();
            return;
        }
        int bytes = pkt.readableBytes();
        if (send(t, pkt, to)) {
            rtpForwarded++;
            rtpBytesForwarded += bytes;
        }
    }

    /** Encrypts and queues an RTCP packet; takes ownership of {@code pkt}. */
    void sendRtcp(Transport t, ByteBuf pkt) {
        InetSocketAddress to = t.sendAddress();
        if (to == null || !t.srtp.protectRtcp(pkt)) {
            pkt.release();
            return;
        }
        t.rtcpPacketsOut++;
        send(t, pkt, to);
    }

    /** UDP to {@code to}, or RFC 4571-framed on the ICE-TCP connection when the selected pair is TCP (RFC 6544). */
    private boolean send(Transport t, ByteBuf pkt, InetSocketAddress to) {
        flushPending = true;
        IceTcpConnection c = t.sendTcp();
        if (c != null) {
            return c.writeMedia(pkt);
        }
        channel.write(new DatagramPacket(pkt, to), channel.voidPromise());
        return true;
    }

    /** A STUN response: on the connection of the request (RFC 6544 §7.2), or as a datagram to its sender. */
    void sendStun(byte[] response, InetSocketAddress to, IceTcpConnection connection) {
        if (connection != null) {
            connection.write(Unpooled.wrappedBuffer(response));
        } else {
            channel.write(new DatagramPacket(Unpooled.wrappedBuffer(response), to), channel.voidPromise());
        }
        flushPending = true;
    }

    /** From a DTLS handshake thread: Netty hands the write to the loop. */
    void sendDtls(byte[] data, int off, int len, InetSocketAddress to) {
        channel.writeAndFlush(new DatagramPacket(Unpooled.copiedBuffer(data, off, len), to), channel.voidPromise());
    }

    void flushIfPending() {
        if (flushPending) {
            flushPending = false;
            channel.flush();
            if (tcp != null) {
                tcp.flush();
            }
        }
    }

    boolean bound() {
        return channel.isActive();
    }
}
