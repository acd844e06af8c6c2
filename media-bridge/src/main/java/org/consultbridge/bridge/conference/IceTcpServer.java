package org.consultbridge.bridge.conference;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.transport.DropReason;

/**
 * The bridge's ICE-TCP listener (RFC 6544 passive candidates, RFC 4571 framing). Accepted connections live on the
 * bridge's one event loop (server and child group are that loop), so their frames enter the same demultiplexer as
 * UDP datagrams without any hand-over. Owns the limits against hostile clients: at most
 * {@link #maxUnauthenticated} connections that have not yet passed an ICE check, each closed when no authenticated
 * check arrives within {@link #authTimeoutNanos}; authenticated connections are closed after
 * {@link #idleTimeoutNanos} without a frame.
 */
final class IceTcpServer {

    /** Largest RFC 4571 frame accepted: the same bound as a UDP datagram (anything bigger closes the connection). */
    static final int MAX_FRAME = SfuBridge.MAX_DATAGRAM - 1;
    static final int DEFAULT_MAX_UNAUTHENTICATED = 64;
    static final long DEFAULT_AUTH_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
    static final long DEFAULT_IDLE_TIMEOUT_NANOS = Transport.CONSENT_TIMEOUT_NANOS;
    /** Per connection: above the high mark media is dropped (and counted) instead of queued. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    final SfuBridge bridge;
    private final Channel serverChannel;
    private final int port;
    /** Every open connection (loop only); swept once a second for the timeouts. */
    private final List<IceTcpConnection> connections = new ArrayList<>();
    /** Connections written to since the last flush (loop only). */
    private final List<IceTcpConnection> toFlush = new ArrayList<>();
    int unauthenticated;

    int maxUnauthenticated = DEFAULT_MAX_UNAUTHENTICATED;
    long authTimeoutNanos = DEFAULT_AUTH_TIMEOUT_NANOS;
    long idleTimeoutNanos = DEFAULT_IDLE_TIMEOUT_NANOS;

    IceTcpServer(SfuBridge bridge, EventLoop loop, boolean epoll, String bindAddress, int port)
            throws InterruptedException {
        this.bridge = bridge;
        ServerBootstrap b = new ServerBootstrap()
                .group(loop, loop) // children on the bridge's loop: conference state is never touched elsewhere
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 128)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOCATOR, bridge.allocator())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        accept(ch);
                    }
                });
        this.serverChannel = b.bind(bindAddress, Math.max(port, 0)).sync().channel();
        this.port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
        loop.scheduleAtFixedRate(this::sweep, 1, 1, TimeUnit.SECONDS);
    }

    int port() {
        return port;
    }

    private void accept(SocketChannel ch) {
        if (unauthenticated >= maxUnauthenticated) {
            bridge.drop(DropReason.TCP_REJECTED);
            ch.close();
            return;
        }
        IceTcpConnection c = new IceTcpConnection(this, ch, System.nanoTime());
        unauthenticated++;
        connections.add(c);
        ch.pipeline().addLast(c);
    }

    void removed(IceTcpConnection c) {
        connections.remove(c);
        if (!c.authenticated()) {
            unauthenticated--;
        }
    }

    void authenticated(IceTcpConnection c) {
        unauthenticated--;
    }

    void needsFlush(IceTcpConnection c) {
        toFlush.add(c);
    }

    /** Called with the bridge's flush (end of a read batch, timer ticks). */
    void flush() {
        int n = toFlush.size();
        if (n == 0) {
            return;
        }
        for (int i = 0; i < n; i++) {
            toFlush.get(i).flush();
        }
        toFlush.clear();
    }

    private void sweep() {
        long now = System.nanoTime();
        for (int i = connections.size() - 1; i >= 0; i--) {
            IceTcpConnection c = connections.get(i);
            if (!c.authenticated()) {
                if (now - c.acceptedNanos > authTimeoutNanos) {
                    c.closeFor(DropReason.TCP_AUTH_TIMEOUT);
                }
            } else if (now - c.lastFrameNanos > idleTimeoutNanos) {
                c.closeFor(DropReason.TCP_IDLE);
            }
        }
    }

    int connectionCount() {
        return connections.size();
    }

    /** The most bytes any connection has queued for its socket (tests: back-pressure keeps this bounded). */
    long maxPendingWriteBytes() {
        long max = 0;
        for (IceTcpConnection c : connections) {
            var out = c.channel.unsafe().outboundBuffer();
            max = Math.max(max, out == null ? 0 : out.totalPendingWriteBytes());
        }
        return max;
    }

    /** On the loop: stops listening and closes every connection. */
    void close() {
        serverChannel.close();
        for (IceTcpConnection c : new ArrayList<>(connections)) {
            c.close();
        }
    }
}
