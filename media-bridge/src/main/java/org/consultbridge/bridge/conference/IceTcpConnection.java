package org.consultbridge.bridge.conference;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.net.InetSocketAddress;
import java.util.List;
import org.consultbridge.bridge.transport.DropReason;

/**
 * One accepted ICE-TCP connection (RFC 6544): splits the byte stream into RFC 4571 frames (2-byte length, then
 * the packet) and hands each frame to the bridge's demultiplexer exactly like a UDP datagram from
 * {@link #remote}; writes packets back with the same framing. Lives on the bridge's event loop.
 *
 * <p>Until a frame was an authenticated Binding request for one of the bridge's transports the connection is
 * unauthenticated: anything else closes it. Once authenticated it belongs to that transport only
 * ({@link #transport}); the transport sends on it while it is the selected pair.
 */
final class IceTcpConnection extends ByteToMessageDecoder {

    private final IceTcpServer server;
    private final SfuBridge bridge;
    final SocketChannel channel;
    final InetSocketAddress remote;
    final long acceptedNanos;
    long lastFrameNanos;
    /** The transport an authenticated ICE check bound this connection to; null while unauthenticated. */
    private Transport transport;
    private boolean flushPending;
    private boolean closed;

    IceTcpConnection(IceTcpServer server, SocketChannel channel, long nowNanos) {
        this.server = server;
        this.bridge = server.bridge;
        this.channel = channel;
        this.remote = channel.remoteAddress();
        this.acceptedNanos = nowNanos;
        this.lastFrameNanos = nowNanos;
    }

    boolean authenticated() {
        return transport != null;
    }

    Transport transport() {
        return transport;
    }

    /** An authenticated check arrived on this connection for {@code t} (RFC 6544 §7.2: the connection is t's). */
    void bind(Transport t) {
        if (transport == null) {
            transport = t;
            server.authenticated(this);
        }
    }

    // ---------------------------------------------------------------- receive

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (!closed && in.readableBytes() >= 2) {
            int start = in.readerIndex();
            int length = in.getUnsignedShort(start); // RFC 4571 §2: LENGTH, then that many bytes of packet
            if (length > IceTcpServer.MAX_FRAME) {
                closeFor(DropReason.TCP_FRAME_TOO_LONG);
                break;
            }
            if (in.readableBytes() < 2 + length) {
                return; // wait for the rest; a frame that never completes ends in the auth or idle timeout
            }
            ByteBuf frame = in.retainedSlice(start + 2, length); // recycled by the pooled allocator, no copy
            in.readerIndex(start + 2 + length);
            try {
                onFrame(frame);
            } finally {
                frame.release();
            }
        }
        if (closed) {
            in.skipBytes(in.readableBytes());
        }
    }

    private void onFrame(ByteBuf frame) {
        lastFrameNanos = System.nanoTime();
        if (transport != null) {
            bridge.onPacket(frame, remote, this);
            return;
        }
        // unauthenticated: only a Binding request may come, and it must bind the connection to a transport
        if (frame.readableBytes() == 0 || frame.getUnsignedByte(frame.readerIndex()) > 3) {
            closeFor(DropReason.TCP_UNAUTHENTICATED);
            return;
        }
        bridge.onPacket(frame, remote, this);
        if (transport == null) {
            closeFor(DropReason.TCP_UNAUTHENTICATED);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        super.channelReadComplete(ctx);
        bridge.flushIfPending(); // packets this connection's frames produced, on UDP and TCP alike
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        closed = true;
        server.removed(this);
        if (transport != null) {
            transport.onTcpClosed(this);
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // resets, writes after close: the connection is gone, nothing to log per packet
        close();
    }

    // ---------------------------------------------------------------- send

    /**
     * Media (SRTP/SRTCP) on the loop; takes ownership of {@code pkt}. Dropped and counted when the connection's
     * send buffer is above its high-water mark: TCP must not queue media without bound.
     */
    boolean writeMedia(ByteBuf pkt) {
        if (closed || !channel.isWritable()) {
            pkt.release();
            bridge.drop(DropReason.TCP_CONGESTED);
            return false;
        }
        write(pkt);
        return true;
    }

    /** On the loop; takes ownership of {@code pkt}; flushed with the bridge's next flush. */
    void write(ByteBuf pkt) {
        if (closed) {
            pkt.release();
            return;
        }
        int length = pkt.readableBytes();
        // RFC 4571 §2 framing; one copy into a pooled direct buffer, the copy a heap buffer needs for the socket anyway
        ByteBuf framed = channel.alloc().directBuffer(2 + length);
        framed.writeShort(length).writeBytes(pkt, pkt.readerIndex(), length);
        pkt.release();
        channel.write(framed, channel.voidPromise());
        if (!flushPending) {
            flushPending = true;
            server.needsFlush(this);
        }
    }

    /** From a DTLS handshake thread: Netty hands the write to the loop. */
    void sendDtls(byte[] data, int off, int len) {
        ByteBuf framed = channel.alloc().directBuffer(2 + len);
        framed.writeShort(len).writeBytes(data, off, len);
        channel.writeAndFlush(framed, channel.voidPromise());
    }

    void flush() {
        flushPending = false;
        channel.flush();
    }

    // ---------------------------------------------------------------- close

    void closeFor(DropReason reason) {
        if (!closed) {
            bridge.drop(reason);
            close();
        }
    }

    void close() {
        closed = true;
        channel.close();
    }
}
