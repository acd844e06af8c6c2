package org.consultbridge.bridge.conference;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.api.QualitySnapshot;
import org.consultbridge.bridge.api.ReceiveQuality;

/**
 * Gathers a {@link QualitySnapshot} on the event loop from counters the packet path already keeps (Consumer,
 * InboundStream, Transport, Endpoint's bandwidth estimate). Reads only; the packet path is unchanged.
 *
 * <p>Bridge-wide NACK/RTX/PLI/layer-switch totals are kept monotonic across endpoints that leave: each collection
 * adds what every live consumer and stream counted since the previous one, so a counter survives its consumer
 * (increments between the last collection and a consumer's removal are not seen: at most one sample interval).
 */
final class QualitySnapshots {

    private static final long REPORT_FRESH_NANOS = 5_000_000_000L;
    // indices into the per-object counter arrays
    private static final int NACKS = 0;
    private static final int RTX = 1;
    private static final int PLIS = 2;
    private static final int SWITCHES = 3;

    private Map<Object, long[]> seen = new IdentityHashMap<>();
    private final UplinkLossTotals uplink = new UplinkLossTotals();
    private final long[] totals = new long[6]; // nacks in, rtx, plis in, switches, nacks out, plis out

    /** Event loop only. */
    QualitySnapshot collect(Iterable<Conference> conferences, boolean bound, long bytesIn, long bytesOut,
                            long iceFailures, long dtlsFailures) {
        long now = System.nanoTime();
        Map<Object, long[]> next = new IdentityHashMap<>();
        List<QualitySnapshot.EndpointQuality> out = new ArrayList<>();
        for (Conference conf : conferences) {
            for (Endpoint e : conf.endpoints.values()) {
                out.add(endpoint(conf, e, now, next));
            }
        }
        seen = next;
        uplink.finish();
        return new QualitySnapshot(now, bound, bytesIn, bytesOut, totals[0], totals[4], totals[1], totals[2],
                totals[5], totals[3], iceFailures, dtlsFailures, List.copyOf(out));
    }

    private QualitySnapshot.EndpointQuality endpoint(Conference conf, Endpoint e, long now, Map<Object, long[]> next) {
        double upJitter = -1;
        long[] uplinkTotals = uplink.endpoint(e);
        long publishBps = 0;
        for (Producer p : e.producers()) {
            for (InboundStream s : p.streams) {
                publishBps += s.bitrate(now);
                account(s, new long[] {s.nacksSent, s.keyframeRequestsSent}, next, 4, 5);
                if (s.receiveStats != null && s.receiveStats.packetsReceived() > 0) {
                    if (!p.video) { // video's RTP jitter mostly measures frame pacing: audio's is the link's
                        upJitter = Math.max(upJitter, s.receiveStats.jitterRtpUnits() * 1000.0 / p.clockRate);
                    }
                    uplink.stream(uplinkTotals, s.receiveStats, s.receiveStats.packetsExpected(),
                            s.receiveStats.lostBeforeRepair());
                }
            }
        }
        int worstLoss = -1;
        double downJitter = -1;
        long rtt = -1;
        long nacks = 0;
        long rtx = 0;
        long plis = 0;
        long receiveBps = 0;
        List<ReceiveQuality.ReceivedVideo> videos = new ArrayList<>();
        for (Endpoint other : conf.endpoints.values()) {
            if (other == e) {
                continue;
            }
            for (Producer p : other.producers()) {
                for (Consumer c : p.consumerArray) {
                    if (c.subscriber != e) {
                        continue;
                    }
                    account(c, new long[] {c.nacksReceived, c.retransmissionsSent, c.keyframeRequestsReceived,
                            c.layerSwitches}, next, 0, 1, 2, 3);
                    nacks += c.nacksReceived;
                    rtx += c.retransmissionsSent;
                    plis += c.keyframeRequestsReceived;
                    if (!c.active || !c.negotiated) {
                        continue;
                    }
                    if (c.lastReportNanos != 0 && now - c.lastReportNanos < REPORT_FRESH_NANOS) {
                        worstLoss = Math.max(worstLoss, c.fractionLost);
                        if (!p.video) {
                            downJitter = Math.max(downJitter, c.jitter * 1000.0 / p.clockRate);
                        }
                    }
                    if (c.rttUnits >= 0) {
                        rtt = Math.max(rtt, c.rttUnits * 1000 / 65536);
                    }
                    InboundStream s = c.currentStream();
                    long bps = s == null ? 0 : s.bitrate(now);
                    receiveBps += bps;
                    if (p.video) {
                        videos.add(new ReceiveQuality.ReceivedVideo(p.owner.id(), c.currentLayer, c.targetLayer,
                                p.streams.length, c.targetLayer < 0, bps));
                    }
                }
            }
        }
        Transport sub = e.subscribe;
        return new QualitySnapshot.EndpointQuality(conf.id, e.id(), e.publish.state, sub.state,
                e.publish.connectedAtNanos,
                e.publish.rtpBytesIn, sub.rtpBytesOut, e.availableBps == Long.MAX_VALUE ? -1 : e.availableBps,
                worstLoss < 0 ? -1 : worstLoss / 256.0, downJitter, rtt, upJitter, uplinkTotals[0], uplinkTotals[1], publishBps,
                receiveBps, nacks, rtx, plis, List.copyOf(videos));
    }

    /** Adds what {@code key}'s counters grew by since the last collection to the totals at {@code slots}. */
    private void account(Object key, long[] values, Map<Object, long[]> next, int... slots) {
        long[] before = seen.get(key);
        for (int i = 0; i < values.length; i++) {
            long delta = before == null ? values[i] : values[i] - before[i];
            if (delta > 0) {
                totals[slots[i]] += delta;
            }
        }
        next.put(key, values);
    }
}
