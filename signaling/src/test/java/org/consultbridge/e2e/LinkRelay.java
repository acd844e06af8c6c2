package org.consultbridge.e2e;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
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
        browserSide.close();
        for (Flow f : flows.values()) {
            f.bridgeSide().close();
        }
    }
}
