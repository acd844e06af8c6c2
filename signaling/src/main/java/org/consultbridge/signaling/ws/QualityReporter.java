package org.consultbridge.signaling.ws;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.ReceiveQuality;
import org.consultbridge.signaling.consultation.Consultation;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.consultation.Participant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every two seconds, tells each participant how its downlink is doing and what it receives (the {@code quality}
 * message of docs/protocol.md), so the web client can show a link indicator and "audio only" when the bridge
 * suspended a video. One platform thread for the whole server; the bridge answers each query on its event loop.
 */
public final class QualityReporter implements AutoCloseable {

    static final long INTERVAL_MILLIS = 2000;
    private static final Logger LOG = LoggerFactory.getLogger(QualityReporter.class);

    private final ConsultationRegistry registry;
    private final ObjectMapper json;
    private final ScheduledExecutorService timer;

    public QualityReporter(ConsultationRegistry registry, ObjectMapper json) {
        this.registry = registry;
        this.json = json;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "quality-reporter");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::report, INTERVAL_MILLIS, INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void report() {
        for (Consultation c : registry.consultations()) {
            for (Participant p : registry.participants(c.id())) {
                BridgeEndpoint e = p.endpoint();
                if (e == null) {
                    continue;
                }
                try {
                    p.connection().send(message(e.receiveQuality()).toString());
                } catch (RuntimeException ex) {
                    LOG.debug("quality report for {} failed: {}", p.id(), ex.toString());
                }
            }
        }
    }

    ObjectNode message(ReceiveQuality q) {
        ObjectNode n = json.createObjectNode();
        n.put("type", "quality");
        ObjectNode down = n.putObject("downlink");
        down.put("estimateBps", q.estimatedDownlinkBps());
        down.put("fractionLost", Math.round(q.fractionLost() * 1000) / 1000.0);
        down.put("rttMs", q.rttMillis());
        ArrayNode videos = n.putArray("videos");
        for (ReceiveQuality.ReceivedVideo v : q.videos()) {
            ObjectNode o = videos.addObject();
            o.put("participantId", v.sourceEndpointId());
            o.put("layer", v.layer());
            o.put("targetLayer", v.targetLayer());
            o.put("layers", v.layers());
            o.put("suspended", v.suspended());
            o.put("bitrateBps", v.bitrateBps());
        }
        return n;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
