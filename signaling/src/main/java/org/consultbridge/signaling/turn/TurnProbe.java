package org.consultbridge.signaling.turn;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.stun.StunClass;
import org.consultbridge.bridge.stun.StunMessage;
import org.consultbridge.turn.TurnCredentials;
import org.consultbridge.turn.TurnSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the configured TURN server the way a browser uses it: Allocate over UDP with credentials this server
 * issued, CreatePermission for the bridge's first address (so a wrong peer policy shows too), then Refresh with
 * lifetime 0 to free the allocation. Runs on its own scheduled platform thread, never on the bridge's event loop or
 * a request thread; {@code /healthz} reads the last result.
 */
public final class TurnProbe implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TurnProbe.class);
    /** Participant id in the probe's TURN username, so coturn's log tells probe allocations apart. */
    static final String PROBE_ID = "consultbridge-healthz";

    /** The result of one probe. {@code latencyMs}: the Allocate exchange (challenge and authenticated request). */
    public record Health(boolean ok, Long latencyMs, String error, Instant checkedAt) {
    }

    private final TurnSettings settings;
    private final ScheduledExecutorService scheduler;
    private volatile Health last = new Health(false, null, "not probed yet", null);
    private boolean lastOk = true;

    public TurnProbe(TurnSettings settings) {
        this.settings = settings;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "turn-probe");
            t.setDaemon(true);
            return t;
        });
    }

    /** Probes now and then every {@code probe.interval}. */
    public TurnProbe start() {
        scheduler.scheduleWithFixedDelay(this::probeAndRecord, 0, settings.probeInterval().toMillis(),
                TimeUnit.MILLISECONDS);
        return this;
    }

    public Health last() {
        return last;
    }

    private void probeAndRecord() {
        Health h = probeOnce(settings);
        last = h;
        if (h.ok() != lastOk) {
            if (h.ok()) {
                LOG.info("TURN server {}:{} answers again ({} ms)", settings.host(), settings.port(), h.latencyMs());
            } else {
                LOG.warn("TURN server {}:{} probe failed: {}", settings.host(), settings.port(), h.error());
            }
        }
        lastOk = h.ok();
    }

    /** One probe, synchronously. */
    public static Health probeOnce(TurnSettings s) {
        Instant at = Instant.now();
        TurnCredentials c = TurnCredentials.issue(s.signingSecret(), PROBE_ID, Duration.ofMinutes(5), at);
        try {
            InetSocketAddress server = new InetSocketAddress(InetAddress.getByName(s.host()), s.port());
            try (TurnClient client = new TurnClient(server, c.username(), c.password(), s.probeTimeout())) {
                long start = System.nanoTime();
                StunMessage allocated = client.allocate();
                long latency = (System.nanoTime() - start) / 1_000_000L;
                if (allocated.messageClass() != StunClass.SUCCESS_RESPONSE) {
                    return new Health(false, latency, "Allocate refused: " + TurnClient.describe(allocated), at);
                }
                if (allocated.xorRelayedAddress() == null) {
                    return new Health(false, latency, "Allocate answer without XOR-RELAYED-ADDRESS", at);
                }
                String error = null;
                if (!s.allowedPeerAddresses().isEmpty()) {
                    InetAddress bridge = InetAddress.getByName(s.allowedPeerAddresses().getFirst());
                    StunMessage permitted = client.createPermission(bridge);
                    if (permitted.messageClass() != StunClass.SUCCESS_RESPONSE) {
                        error = "CreatePermission for the bridge " + bridge.getHostAddress() + " refused: "
                                + TurnClient.describe(permitted);
                    }
                }
                client.refresh(0); // free the allocation at once (RFC 8656 §7.2); its answer does not matter
                return new Health(error == null, latency, error, at);
            }
        } catch (Exception e) {
            return new Health(false, null, e.getClass().getSimpleName() + ": " + e.getMessage(), at);
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
