package org.consultbridge.e2e;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.consultbridge.bridge.netem.LinkProfile;
import org.consultbridge.bridge.netem.LinkShaper;

/**
 * A user-space emulated link between one browser and the bridge (this kernel has no netem): it listens where the
 * bridge's candidate for the browser's network points, forwards every datagram to the real bridge port and back,
 * and shapes each direction with a {@link LinkShaper} (rate, delay, jitter, loss). The bridge is ICE-lite and
 * learns the browser's address from its checks, so it simply sees the relay as the browser: one relay socket per
 * browser socket (a page has two peer connections), as a NAT would. One thread.
 *
 * <p>{@link #forwardTcp} puts a TCP service (the signalling server: pages and WebSocket) behind the same link: its
 * bytes cross the same two shapers as the media, so they share the bottleneck and its queue with audio and video,
 * as on the real uplink. TCP is emulated coarsely in user space: the stream is cut into segments of
 * {@link #TCP_SEGMENT} bytes, a segment the shaper drops is sent again after {@link #TCP_RTO_NANOS} (in order: later
 * segments wait behind it), and at most {@link #TCP_WINDOW} bytes per direction are on the link (a congestion
 * window); the rest waits in the sender's socket buffers.
 */
final class LinkRelay implements AutoCloseable {

    private record Pending(long due, long order, Flow flow, boolean towardsBridge, ByteBuffer data) {
    }

    /** One browser socket and the relay socket that stands for it towards the bridge. */
    private record Flow(SocketAddress browser, DatagramChannel bridgeSide) {
    }

    private final DatagramChannel browserSide;
    private final java.util.Map<SocketAddress, Flow> flows = new java.util.HashMap<>();
    private final InetSocketAddress bridge;
    private final LinkShaper up;
    private final LinkShaper down;
    private final PriorityQueue<Pending> queue = new PriorityQueue<>((a, b) -> a.due != b.due
            ? Long.compare(a.due, b.due) : Long.compare(a.order, b.order));
    private final Thread thread;
    private volatile boolean closed;
    private long order;

    static final int TCP_SEGMENT = 1400;
    static final int TCP_WINDOW = 32 * 1024;
    static final long TCP_RTO_NANOS = 300_000_000L;
    private volatile ServerSocketChannel tcpListen;
    private volatile InetSocketAddress tcpTarget;
    private volatile boolean cutTcp;
    private final List<TcpFlow> tcpFlows = new ArrayList<>();

    /** One segment of a TCP stream on the link: delivered at {@code due}, or sent again at {@code retryAt}. */
    private static final class Segment {
        final ByteBuffer data;
        long due;
        long retryAt;

        Segment(ByteBuffer data) {
            this.data = data;
        }
    }

    /** One direction of a proxied TCP connection. */
    private static final class TcpPipe {
        final SocketChannel from;
        final SocketChannel to;
        final LinkShaper shaper;
        final ArrayDeque<Segment> onLink = new ArrayDeque<>();
        int bytesOnLink;
        boolean eof;

        TcpPipe(SocketChannel from, SocketChannel to, LinkShaper shaper) {
            this.from = from;
            this.to = to;
            this.shaper = shaper;
        }
    }

    private record TcpFlow(TcpPipe up, TcpPipe down) {
    }

    /**
     * @param listen where the browser sends (the bridge's advertised candidate for its network)
     * @param bridge the bridge's real address
     */
    LinkRelay(InetSocketAddress listen, InetSocketAddress bridge, LinkProfile profile) throws IOException {
        this.bridge = bridge;
        this.up = new LinkShaper(profile, new SplittableRandom(11));
        this.down = new LinkShaper(profile, new SplittableRandom(13));
        browserSide = DatagramChannel.open().setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20).bind(listen);
        browserSide.configureBlocking(false);
        thread = Thread.ofPlatform().daemon().name("link-relay").start(this::run);
    }

    /**
     * The usual set-up of a shaped call: the bridge listens on {@code clinic}'s host address and {@code port} and
     * advertises both namespaces' host addresses; the relay stands at {@code village}'s candidate and forwards to
     * the bridge through {@code profile}. Each namespace's UDP to the other's candidate is dropped (nftables), so
     * the village browser reaches the bridge only through the relay and the clinic's never does.
     */
    static LinkRelay between(NetNamespace clinic, NetNamespace village, int port, LinkProfile profile)
            throws IOException {
        LinkRelay relay = new LinkRelay(new InetSocketAddress(village.hostAddress(), port),
                new InetSocketAddress(clinic.hostAddress(), port), profile);
        dropUdpTo(village, clinic.hostAddress());
        dropUdpTo(clinic, village.hostAddress());
        return relay;
    }

    private static void dropUdpTo(NetNamespace ns, String address) {
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "table", "inet", "only");
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "chain", "inet", "only", "output",
                "{ type filter hook output priority 0 ; }");
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "rule", "inet", "only", "output",
                "ip", "daddr", address, "meta", "l4proto", "udp", "drop");
    }

    /** Changes both directions from the next packet on. */
    void setProfile(LinkProfile profile) {
        up.setProfile(profile);
        down.setProfile(profile);
    }

    private void run() {
        ByteBuffer buf = ByteBuffer.allocate(2048);
        try {
            while (!closed) {
                boolean idle = true;
                buf.clear();
                SocketAddress from = browserSide.receive(buf);
                if (from != null) {
                    Flow f = flows.get(from);
                    if (f == null) {
                        DatagramChannel c = DatagramChannel.open().bind(new InetSocketAddress(bridge.getAddress(), 0));
                        c.configureBlocking(false);
                        f = new Flow(from, c);
                        flows.put(from, f);
                    }
                    enqueue(up, f, true, buf);
                    idle = false;
                }
                for (Flow f : flows.values()) {
                    buf.clear();
                    if (f.bridgeSide().receive(buf) != null) {
                        enqueue(down, f, false, buf);
                        idle = false;
                    }
                }
                if (tcpListen != null && serveTcp()) {
                    idle = false;
                }
                long now = System.nanoTime();
                while (!queue.isEmpty() && queue.peek().due <= now) {
                    Pending p = queue.poll();
                    if (p.towardsBridge) {
                        p.flow.bridgeSide().send(p.data, bridge);
                    } else {
                        browserSide.send(p.data, p.flow.browser());
                    }
                    idle = false;
                }
                if (idle) {
                    Thread.sleep(0, 200_000);
                }
            }
        } catch (IOException | InterruptedException e) {
            // closed
        }
    }

    private void enqueue(LinkShaper shaper, Flow flow, boolean towardsBridge, ByteBuffer buf) {
        buf.flip();
        long due = shaper.deliveryTime(buf.remaining() + 28, System.nanoTime());
        if (due == LinkShaper.DROPPED) {
            return;
        }
        ByteBuffer copy = ByteBuffer.allocate(buf.remaining()).put(buf).flip();
        queue.add(new Pending(due, order++, flow, towardsBridge, copy));
    }

    /**
     * Accepts TCP connections at {@code listen} (port 0: any free one) and forwards each to {@code target} across
     * the shaped link (browser to target is "up"). Returns the port it listens on.
     */
    int forwardTcp(InetSocketAddress listen, InetSocketAddress target) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open().bind(listen);
        server.configureBlocking(false);
        tcpTarget = target;
        tcpListen = server;
        return ((InetSocketAddress) server.getLocalAddress()).getPort();
    }

    /** Drops every forwarded TCP connection at once (a link that went down): both ends see a reset. */
    void cutTcp() {
        cutTcp = true;
    }

    /** The loop's TCP work: accept, read into segments while the window allows, deliver due segments in order. */
    private boolean serveTcp() throws IOException {
        boolean busy = false;
        if (cutTcp) {
            cutTcp = false;
            for (TcpFlow f : tcpFlows) {
                f.up.from.setOption(StandardSocketOptions.SO_LINGER, 0);
                f.up.from.close();
                f.up.to.setOption(StandardSocketOptions.SO_LINGER, 0);
                f.up.to.close();
            }
            tcpFlows.clear();
        }
        SocketChannel browser = tcpListen.accept();
        if (browser != null) {
            SocketChannel target;
            try {
                target = SocketChannel.open(tcpTarget); // loopback: connects at once
            } catch (IOException e) {
                browser.close(); // the service is down: refuse this one, keep relaying the rest
                return true;
            }
            browser.configureBlocking(false);
            target.configureBlocking(false);
            browser.setOption(StandardSocketOptions.TCP_NODELAY, true);
            target.setOption(StandardSocketOptions.TCP_NODELAY, true);
            tcpFlows.add(new TcpFlow(new TcpPipe(browser, target, up), new TcpPipe(target, browser, down)));
            busy = true;
        }
        for (var it = tcpFlows.iterator(); it.hasNext(); ) {
            TcpFlow f = it.next();
            try {
                busy |= pipe(f.up);
                busy |= pipe(f.down);
                if ((f.up.eof && f.up.onLink.isEmpty()) || (f.down.eof && f.down.onLink.isEmpty())) {
                    f.up.from.close();
                    f.up.to.close();
                    it.remove();
                }
            } catch (IOException e) {
                f.up.from.close();
                f.up.to.close();
                it.remove();
            }
        }
        return busy;
    }

    private static boolean pipe(TcpPipe p) throws IOException {
        boolean busy = false;
        long now = System.nanoTime();
        while (!p.eof && p.bytesOnLink < TCP_WINDOW) {
            ByteBuffer b = ByteBuffer.allocate(TCP_SEGMENT);
            int n = p.from.read(b);
            if (n < 0) {
                p.eof = true;
            }
            if (n <= 0) {
                break;
            }
            b.flip();
            Segment s = new Segment(b);
            s.retryAt = now; // submitted to the link below
            p.onLink.add(s);
            p.bytesOnLink += n;
            busy = true;
        }
        for (Segment s : p.onLink) {
            if (s.retryAt != 0 && s.retryAt <= now) {
                long due = p.shaper.deliveryTime(s.data.remaining() + 40, now);
                if (due == LinkShaper.DROPPED) {
                    s.retryAt = now + TCP_RTO_NANOS; // lost: the sender's retransmission timer
                } else {
                    s.retryAt = 0;
                    s.due = due;
                }
            }
        }
        while (!p.onLink.isEmpty()) {
            Segment head = p.onLink.peek();
            if (head.retryAt != 0 || head.due > now) {
                break; // in order: everything waits behind a lost or late segment
            }
            int len = head.data.remaining();
            p.to.write(head.data);
            if (head.data.hasRemaining()) {
                p.bytesOnLink -= len - head.data.remaining();
                break; // the receiver's buffer is full
            }
            p.bytesOnLink -= len;
            p.onLink.poll();
            busy = true;
        }
        return busy;
    }

    long droppedUp() {
        return up.dropped();
    }

    long droppedDown() {
        return down.dropped();
    }

    long queueDroppedDown() {
        return down.queueDropped();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (tcpListen != null) {
            tcpListen.close();
        }
        for (TcpFlow f : tcpFlows) {
            f.up.from.close();
            f.up.to.close();
        }
        browserSide.close();
        for (Flow f : flows.values()) {
            f.bridgeSide().close();
        }
    }
}
