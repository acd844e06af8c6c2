package org.consultbridge.bridge.conference;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.BridgeStats;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.dtls.DtlsCertificate;
import org.consultbridge.bridge.sdp.IceCandidate;
import org.consultbridge.bridge.sdp.MediaCapabilities;
import org.consultbridge.bridge.sdp.SdpException;
import org.consultbridge.bridge.srtp.SrtpTransformer;
import org.consultbridge.bridge.transport.ConsentFreshness;
import org.consultbridge.bridge.transport.DropReason;
import org.consultbridge.bridge.transport.HostCandidates;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker of the media bridge: one UDP socket (and one ICE-TCP listener) on one Netty event loop, demultiplexed
 * per RFC 7983, carrying every endpoint of the conferences placed on it (mediasoup's worker model: a conference
 * never spans two workers, so forwarding never crosses threads and nothing is locked). All mutable state lives on
 * that loop; calls from the signalling side hop onto it. {@link WorkerPool} runs one per core.
 */
public final class SfuBridge implements MediaBridge {

    private static final Logger LOG = LoggerFactory.getLogger(SfuBridge.class);
    /** Receive buffer per datagram: larger than any path MTU; bigger datagrams arrive truncated and are dropped. */
    static final int MAX_DATAGRAM = 2048;
    private static final long CALL_TIMEOUT_SECONDS = 10;
    /**
     * Datagrams per receive system call with epoll (recvmmsg(2); 1 = one recvmsg per datagram). 16 took the event
     * loop's CPU at 20 load-test consultations from 429 to 288 ms/s together with the leak detector off
     * (-Dconsultbridge.bridge.receive-batch=1 goes back).
     */
    static final int RECEIVE_BATCH = Integer.getInteger("consultbridge.bridge.receive-batch", 16);

    private final BridgeConfig config;
    private final int index;
    private final Consumer<String> conferenceGone;
    private volatile int endpointCount;
    private volatile LongConsumer lagRecorder;
    private final AtomicLong maxLagNanos = new AtomicLong();
    static final long LAG_PROBE_NANOS = 10_000_000L;
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final Channel channel;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final DtlsCertificate certificate;
    private final List<IceCandidate> candidates;
    private final MediaCapabilities capabilities;
    private final int udpPort;
    /** RFC 7675 consent timeout of every transport ({@link ConsentFreshness#TIMEOUT_PROPERTY}, 30 s by default). */
    private final long consentTimeoutNanos;
    /** ICE-TCP listener (RFC 6544), on {@link #loop}; null when off. */
    private final IceTcpServer tcp;

    private final Map<String, Conference> conferences = new LinkedHashMap<>();
    private final DropCounters drops = new DropCounters();
    private final QualitySnapshots qualitySnapshots = new QualitySnapshots();
    private long dtlsFailures;
    private long iceFailures;
    /** The packet path's first and last steps (RFC 7983 demultiplexing, SRTP protect and the socket writes). */
    private final PacketDemux demux;
    private final PacketWriter writer;

    private SfuBridge(BridgeConfig config, int index, DtlsCertificate certificate, Consumer<String> conferenceGone)
            throws InterruptedException {
        this.config = config;
        this.index = index;
        this.conferenceGone = conferenceGone;
        this.consentTimeoutNanos = ConsentFreshness.configuredTimeoutNanos();
        this.certificate = certificate;
        SrtpTransformer.warmUp(); // never on the event loop
        LOG.info("SRTP AES implementation: {}", SrtpTransformer.AES_FACTORY.endsWith("OpenSSLCipherFactory")
                ? "OpenSSL (jitsi-srtp's libjitsisrtp)" : "SunJCE");
        this.capabilities = MediaCapabilities.defaults().withSimulcast(true)
                .withTransportCc(!Boolean.getBoolean("consultbridge.bridge.no-transport-cc"))
                .withAudioRed(!Boolean.getBoolean("consultbridge.bridge.no-red"));
        boolean epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("bridge-worker-" + index, true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.loop = group.next();
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
                .option(ChannelOption.ALLOCATOR, alloc)
                .option(ChannelOption.SO_RCVBUF, 4 * 1024 * 1024)
                .option(ChannelOption.SO_SNDBUF, 4 * 1024 * 1024)
                .handler(new InboundHandler());
        if (epoll && RECEIVE_BATCH > 1) {
            // recvmmsg(2): up to RECEIVE_BATCH datagrams per system call (Netty slices them out of one buffer)
            b.option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM * RECEIVE_BATCH));
        } else {
            b.option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM));
        }
        // worker i takes the configured port + i (0: any free port): the firewall opens a range, see the README
        this.channel = b.bind(config.bindAddress(), config.udpPort() == 0 ? 0 : config.udpPort() + index).sync().channel();
        this.udpPort = ((InetSocketAddress) channel.localAddress()).getPort();
        this.writer = new PacketWriter(channel);
        this.demux = new PacketDemux(alloc, drops, writer);
        IceTcpServer tcpServer = null;
        try {
            tcpServer = config.tcpEnabled() ? new IceTcpServer(this, loop, epoll, config.bindAddress(),
                    config.tcpPort() > 0 ? config.tcpPort() + index : config.tcpPort()) : null;
        } catch (RuntimeException | InterruptedException e) {
            channel.close();
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
        this.tcp = tcpServer;
        writer.tcp(tcpServer);
        this.candidates = HostCandidates.forConfig(config, udpPort, tcpPort());
        loop.scheduleAtFixedRate(this::onTick, 1, 1, TimeUnit.SECONDS);
        loop.scheduleAtFixedRate(this::onFastTick, FAST_TICK_MILLIS, FAST_TICK_MILLIS, TimeUnit.MILLISECONDS);
        loop.execute(this::scheduleLagProbe);
        LOG.info("media bridge worker {} on udp {}:{}{} ({}), candidates {}", index, config.bindAddress(), udpPort,
                tcp == null ? "" : " and tcp " + tcp.port(), epoll ? "epoll" : "nio",
                candidates.stream().map(IceCandidate::address).toList());
    }

    /** One worker on its own, with a certificate of its own (tests of the bridge alone). */
    public static SfuBridge start(BridgeConfig config) {
        return start(config, 0, DtlsCertificate.generate(), id -> { });
    }

    /**
     * Worker {@code index} of a {@link WorkerPool}; {@code conferenceGone} hears (on this worker's loop) of each
     * conference that ended or lost its last endpoint.
     */
    static SfuBridge start(BridgeConfig config, int index, DtlsCertificate certificate, Consumer<String> conferenceGone) {
        try {
            return new SfuBridge(config, index, certificate, conferenceGone);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while binding the bridge port", e);
        }
    }

    // ---------------------------------------------------------------- MediaBridge

    @Override
    public BridgeEndpoint createEndpoint(String conferenceId, String endpointId, EndpointListener listener) {
        return onLoop(() -> {
            Conference conference = conferences.computeIfAbsent(conferenceId, Conference::new);
            Endpoint existing = conference.endpoints.get(endpointId);
            if (existing != null) {
                existing.onClose(); // the same participant again (a reconnect): the old presence goes
                conference = conferences.computeIfAbsent(conferenceId, Conference::new);
            }
            Endpoint endpoint = new Endpoint(this, writer, drops, conference, endpointId, listener);
            conference.add(endpoint);
            endpointCount++;
            return endpoint;
        });
    }

    @Override
    public int closeConference(String conferenceId) {
        return onLoop(() -> {
            Conference c = conferences.get(conferenceId);
            if (c == null) {
                return 0;
            }
            List<Endpoint> all = new ArrayList<>(c.endpoints.values());
            all.forEach(Endpoint::onClose); // the last one removes the conference
            if (conferences.remove(conferenceId, c)) {
                conferenceGone.accept(conferenceId);
            }
            return all.size();
        });
    }

    @Override
    public Optional<BridgeEndpoint> endpoint(String conferenceId, String endpointId) {
        return onLoop(() -> {
            Conference c = conferences.get(conferenceId);
            return Optional.ofNullable(c == null ? null : c.endpoints.get(endpointId));
        });
    }

    @Override
    public BridgeStats stats() {
        return onLoop(() -> {
            Map<String, Long> dropped = drops.byLabel();
            int endpoints = 0;
            for (Conference c : conferences.values()) {
                endpoints += c.endpoints.size();
            }
            return new BridgeStats(conferences.size(), endpoints, demux.datagramsReceived, demux.rtpReceived,
                    writer.rtpForwarded, demux.rtcpReceived, dropped);
        });
    }

    @Override
    public org.consultbridge.bridge.api.QualitySnapshot qualitySnapshot() {
        return onLoop(() -> qualitySnapshots.collect(conferences.values(), writer.bound(), demux.rtpBytesReceived,
                writer.rtpBytesForwarded, iceFailures, dtlsFailures));
    }

    /** ICE/DTLS failures since start (for metrics). */
    public long[] failureCounts() {
        return onLoop(() -> new long[] {iceFailures, dtlsFailures});
    }

    @Override
    public int udpPort() {
        return udpPort;
    }

    @Override
    public int tcpPort() {
        return tcp == null ? 0 : tcp.port();
    }

    /** The ICE-TCP listener, null when off (tests). */
    IceTcpServer iceTcp() {
        return tcp;
    }

    @Override
    public void close() {
        try {
            onLoop(() -> {
                for (Conference c : new ArrayList<>(conferences.values())) {
                    for (Endpoint e : new ArrayList<>(c.endpoints.values())) {
                        e.onClose();
                    }
                }
                if (tcp != null) {
                    tcp.close();
                }
                return null;
            });
        } catch (RuntimeException e) {
            LOG.warn("closing endpoints failed", e);
        }
        channel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------- services for endpoints and transports

    EventLoop loop() {
        return loop;
    }

    long consentTimeoutNanos() {
        return consentTimeoutNanos;
    }

    DtlsCertificate certificate() {
        return certificate;
    }

    List<IceCandidate> candidates() {
        return candidates;
    }

    MediaCapabilities capabilities() {
        return capabilities;
    }

    Transport newTransport(Endpoint endpoint, TransportDirection direction) {
        Transport t = new Transport(this, endpoint, direction);
        demux.registerUfrag(t.localUfrag, t);
        return t;
    }

    /** A transport's new ICE ufrag after a restart. */
    void registerUfrag(String ufrag, Transport t) {
        demux.registerUfrag(ufrag, t);
    }

    void unregisterUfrag(String ufrag, Transport t) {
        demux.unregisterUfrag(ufrag, t);
    }

    void registerAddress(InetSocketAddress address, Transport t) {
        demux.registerAddress(address, t);
    }

    void unregisterAddress(InetSocketAddress address, Transport t) {
        demux.unregisterAddress(address, t);
    }

    void removeEndpoint(Endpoint endpoint) {
        Conference c = endpoint.conference;
        if (c.endpoints.get(endpoint.id()) == endpoint) {
            c.remove(endpoint);
            endpointCount--;
        }
        if (c.isEmpty() && conferences.remove(c.id, c)) {
            conferenceGone.accept(c.id);
        }
    }

    // ---------------------------------------------------------------- placement and loop health (any thread)

    /** Endpoints on this worker now: what {@link WorkerPool} places new conferences by. */
    int load() {
        return endpointCount;
    }

    int index() {
        return index;
    }

    /** Whether a conference is on this worker; loop only (the pool's placement bookkeeping runs there). */
    boolean hasConference(String conferenceId) {
        return conferences.containsKey(conferenceId);
    }

    /** Receives each measured loop lag in nanoseconds (about 100 a second); set before load, read on the loop. */
    void lagRecorder(LongConsumer recorder) {
        this.lagRecorder = recorder;
    }

    /** The largest loop lag measured since the last call, in nanoseconds (tests, logs). */
    long takeMaxLagNanos() {
        return maxLagNanos.getAndSet(0);
    }

    /**
     * Event-loop lag, as Node.js and Vert.x measure it: a task asked to run {@link #LAG_PROBE_NANOS} from now runs
     * late by however long the loop was busy (datagrams, other tasks) or not on a CPU (steal, a neighbour, GC).
     * A ready datagram waits about as long, so this is the bridge's own contribution to the media's added latency.
     */
    private void scheduleLagProbe() {
        long due = System.nanoTime() + LAG_PROBE_NANOS;
        loop.schedule(() -> {
            long lag = Math.max(0, System.nanoTime() - due);
            maxLagNanos.accumulateAndGet(lag, Math::max);
            LongConsumer r = lagRecorder;
            if (r != null) {
                r.accept(lag);
            }
            if (!loop.isShuttingDown()) {
                scheduleLagProbe();
            }
        }, LAG_PROBE_NANOS, TimeUnit.NANOSECONDS);
    }

    void drop(DropReason reason) {
        drops.drop(reason);
    }

    void countDtlsFailure() {
        dtlsFailures++;
    }

    void countIceFailure() {
        iceFailures++;
    }

    ByteBufAllocator allocator() {
        return alloc;
    }

    /** Encrypts and queues an RTP packet; takes ownership of {@code pkt}. Flushed once per read batch or tick. */
    void sendRtp(Transport t, ByteBuf pkt) {
        writer.sendRtp(t, pkt);
    }

    /** Encrypts and queues an RTCP packet; takes ownership of {@code pkt}. */
    void sendRtcp(Transport t, ByteBuf pkt) {
        writer.sendRtcp(t, pkt);
    }

    /** From a DTLS handshake thread. */
    void sendDtls(byte[] data, int off, int len, InetSocketAddress to) {
        writer.sendDtls(data, off, len, to);
    }

    void flushIfPending() {
        writer.flushIfPending();
    }

    /** Allocation runs every {@link #ALLOCATION_TICKS} fast ticks. */
    static final long FAST_TICK_MILLIS = 50;
    private static final int ALLOCATION_TICKS = 5;
    private int fastTicks;

    private void onFastTick() {
        long now = System.nanoTime();
        boolean allocate = ++fastTicks % ALLOCATION_TICKS == 0;
        for (Conference c : conferences.values()) {
            for (Endpoint e : c.endpoints.values()) {
                try {
                    e.onFastTick(now);
                    if (allocate) {
                        e.allocate(now);
                    }
                } catch (RuntimeException ex) {
                    LOG.warn("periodic task failed for endpoint {}", e.id(), ex);
                }
            }
        }
        flushIfPending();
    }

    private void onTick() {
        long now = System.nanoTime();
        for (Conference c : new ArrayList<>(conferences.values())) {
            for (Endpoint e : new ArrayList<>(c.endpoints.values())) {
                try {
                    e.checkConsent(now);
                    e.sendReceiverReports(now);
                } catch (RuntimeException ex) {
                    LOG.warn("periodic task failed for endpoint {}", e.id(), ex);
                }
            }
        }
        flushIfPending();
    }

    <T> T onLoop(Callable<T> task) {
        try {
            return onLoopChecked(task::call);
        } catch (SdpException e) {
            throw new IllegalStateException(e);
        }
    }

    interface LoopTask<T> {
        T call() throws Exception;
    }

    /** Runs {@code task} on the loop and waits; runs it in place when already there (listener call-backs). */
    <T> T onLoopChecked(LoopTask<T> task) throws SdpException {
        if (loop.inEventLoop()) {
            try {
                T result = task.call();
                flushIfPending();
                return result;
            } catch (SdpException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        Future<T> f = loop.submit(() -> {
            try {
                return task.call();
            } finally {
                flushIfPending();
            }
        });
        try {
            return f.get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for the bridge", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("bridge event loop did not answer in time", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SdpException sdp) {
                throw sdp;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    // ---------------------------------------------------------------- packet path

    private final class InboundHandler extends SimpleChannelInboundHandler<DatagramPacket> {

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            onDatagram(packet.content(), packet.sender());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            flushIfPending();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // a bug in a handler must never stop the loop serving every other call
            LOG.warn("unexpected error on the bridge socket", cause);
        }
    }

    void onDatagram(ByteBuf content, InetSocketAddress sender) {
        demux.onPacket(content, sender, null);
    }

    /** A UDP datagram ({@code tcp} null) or an ICE-TCP frame: see {@link PacketDemux#onPacket}. */
    void onPacket(ByteBuf content, InetSocketAddress sender, IceTcpConnection tcp) {
        demux.onPacket(content, sender, tcp);
    }
}
