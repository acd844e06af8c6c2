package org.consultbridge.bridge.conference;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.BridgeStats;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.api.QualitySnapshot;
import org.consultbridge.bridge.dtls.DtlsCertificate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media bridge: one {@link SfuBridge} worker per core, each with its own event loop, UDP port and ICE-TCP port,
 * like mediasoup's workers. A conference is placed on one worker when its first endpoint is created (the worker
 * with the fewest endpoints) and all its endpoints live there, so forwarding never crosses threads and nothing on
 * the packet path is locked; a datagram reaches its worker because each worker advertises its own port in its
 * endpoints' candidates. Placement runs on the signalling side's threads (a concurrent map, never per packet).
 */
public final class WorkerPool implements MediaBridge {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);

    private final List<SfuBridge> workers;
    private final Map<String, Placement> placements = new ConcurrentHashMap<>();

    /** Where a conference lives, and how many creations of its endpoints are under way (they keep it placed). */
    private record Placement(SfuBridge worker, AtomicInteger pending) {
    }

    private WorkerPool(List<SfuBridge> workers) {
        this.workers = List.copyOf(workers);
    }

    /** Starts {@link BridgeConfig#effectiveWorkers()} workers; on a failure the ones already started are closed. */
    public static WorkerPool start(BridgeConfig config) {
        int n = config.effectiveWorkers();
        DtlsCertificate certificate = DtlsCertificate.generate(); // one fingerprint for the whole bridge
        // BouncyCastle's handshake code compiled at start, not beside the first participants' joins
        org.consultbridge.bridge.dtls.DtlsSession.warmUpInBackground();
        List<SfuBridge> started = new ArrayList<>(n);
        WorkerPool[] pool = new WorkerPool[1];
        try {
            for (int i = 0; i < n; i++) {
                int index = i;
                started.add(SfuBridge.start(config, i, certificate, id -> pool[0].conferenceGone(index, id)));
            }
        } catch (RuntimeException e) {
            started.forEach(SfuBridge::close);
            throw e;
        }
        pool[0] = new WorkerPool(started);
        LOG.info("media bridge: {} worker(s), udp ports {}", n, pool[0].udpPorts());
        return pool[0];
    }

    /** The worker a conference is (or would now be) placed on (tests, ops). */
    int workerOf(String conferenceId) {
        Placement p = placements.get(conferenceId);
        return p == null ? -1 : p.worker().index();
    }

    List<SfuBridge> workers() {
        return workers;
    }

    @Override
    public BridgeEndpoint createEndpoint(String conferenceId, String endpointId, EndpointListener listener) {
        Placement p = placements.compute(conferenceId, (id, old) -> {
            Placement placed = old != null ? old : new Placement(leastLoaded(), new AtomicInteger());
            placed.pending().incrementAndGet();
            return placed;
        });
        try {
            return p.worker().createEndpoint(conferenceId, endpointId, listener);
        } finally {
            p.pending().decrementAndGet();
        }
    }

    private SfuBridge leastLoaded() {
        SfuBridge best = workers.get(0);
        for (SfuBridge w : workers) {
            if (w.load() < best.load()) {
                best = w;
            }
        }
        return best;
    }

    /**
     * On worker {@code index}'s loop: a conference there ended or lost its last endpoint. Its placement goes unless
     * an endpoint of it is being created right now (that creation brings the conference back on the same worker).
     */
    private void conferenceGone(int index, String conferenceId) {
        SfuBridge w = workers.get(index);
        placements.computeIfPresent(conferenceId, (id, p) ->
                p.worker() == w && p.pending().get() == 0 && !w.hasConference(id) ? null : p);
    }

    @Override
    public Optional<BridgeEndpoint> endpoint(String conferenceId, String endpointId) {
        Placement p = placements.get(conferenceId);
        return p == null ? Optional.empty() : p.worker().endpoint(conferenceId, endpointId);
    }

    @Override
    public int closeConference(String conferenceId) {
        Placement p = placements.get(conferenceId);
        return p == null ? 0 : p.worker().closeConference(conferenceId);
    }

    @Override
    public BridgeStats stats() {
        int conferences = 0;
        int endpoints = 0;
        long datagrams = 0;
        long received = 0;
        long forwarded = 0;
        long rtcp = 0;
        Map<String, Long> dropped = new LinkedHashMap<>();
        for (SfuBridge w : workers) {
            BridgeStats s = w.stats();
            conferences += s.conferences();
            endpoints += s.endpoints();
            datagrams += s.datagramsReceived();
            received += s.rtpPacketsReceived();
            forwarded += s.rtpPacketsForwarded();
            rtcp += s.rtcpPacketsReceived();
            s.droppedByReason().forEach((k, v) -> dropped.merge(k, v, Long::sum));
        }
        return new BridgeStats(conferences, endpoints, datagrams, received, forwarded, rtcp, dropped);
    }

    @Override
    public QualitySnapshot qualitySnapshot() {
        if (workers.size() == 1) {
            return workers.get(0).qualitySnapshot();
        }
        boolean bound = true;
        long bytesIn = 0;
        long bytesOut = 0;
        long nacksIn = 0;
        long nacksOut = 0;
        long rtx = 0;
        long pliIn = 0;
        long pliOut = 0;
        long switches = 0;
        long ice = 0;
        long dtls = 0;
        List<QualitySnapshot.EndpointQuality> endpoints = new ArrayList<>();
        for (SfuBridge w : workers) {
            QualitySnapshot q = w.qualitySnapshot();
            bound &= q.bound();
            bytesIn += q.rtpBytesReceived();
            bytesOut += q.rtpBytesForwarded();
            nacksIn += q.nacksReceived();
            nacksOut += q.nacksSent();
            rtx += q.retransmissionsSent();
            pliIn += q.keyframeRequestsReceived();
            pliOut += q.keyframeRequestsSent();
            switches += q.layerSwitches();
            ice += q.iceFailures();
            dtls += q.dtlsFailures();
            endpoints.addAll(q.endpoints());
        }
        return new QualitySnapshot(System.nanoTime(), bound, bytesIn, bytesOut, nacksIn, nacksOut, rtx, pliIn, pliOut,
                switches, ice, dtls, List.copyOf(endpoints));
    }

    @Override
    public int udpPort() {
        return workers.get(0).udpPort();
    }

    @Override
    public int tcpPort() {
        return workers.get(0).tcpPort();
    }

    @Override
    public List<Integer> udpPorts() {
        return workers.stream().map(SfuBridge::udpPort).toList();
    }

    @Override
    public List<Integer> tcpPorts() {
        return workers.stream().map(SfuBridge::tcpPort).filter(p -> p != 0).toList();
    }

    @Override
    public int workerCount() {
        return workers.size();
    }

    @Override
    public void loopLagRecorder(LongConsumer recorder) {
        workers.forEach(w -> w.lagRecorder(recorder));
    }

    @Override
    public void close() {
        for (SfuBridge w : workers) {
            try {
                w.close();
            } catch (RuntimeException e) {
                LOG.warn("closing bridge worker {} failed", w.index(), e);
            }
        }
    }
}
