package org.consultbridge.signaling.limits;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * The signalling port's defences against hostile input, in front of every WebSocket: the origin check and the
 * per-address socket limit at the upgrade ({@link #admit}), and per connection a {@link ConnectionGuard} (message
 * rate, join rate per address, hello deadline). Every refusal is counted in
 * {@code consultbridge_signaling_rejected_total{reason}}. The join token stays the authentication; these limits
 * keep one address or one socket from taking the server's time and memory from everyone else.
 */
public final class SignalingGuard implements AutoCloseable {

    public static final String REASON_ORIGIN = "origin";
    public static final String REASON_SOCKETS_PER_ADDRESS = "sockets-per-address";
    public static final String REASON_JOIN_RATE = "join-rate";
    public static final String REASON_MESSAGE_RATE = "message-rate";
    public static final String REASON_MESSAGE_FLOOD = "message-flood";
    public static final String REASON_HELLO_TIMEOUT = "hello-timeout";
    static final List<String> REASONS = List.of(REASON_ORIGIN, REASON_SOCKETS_PER_ADDRESS, REASON_JOIN_RATE,
            REASON_MESSAGE_RATE, REASON_MESSAGE_FLOOD, REASON_HELLO_TIMEOUT);

    private final LimitSettings settings;
    private final OriginPolicy origins;
    private final AddressLimiter addresses;
    private final Map<String, Counter> rejected;
    private final ScheduledThreadPoolExecutor timer;

    public SignalingGuard(LimitSettings settings, OriginPolicy origins, MeterRegistry registry) {
        this.settings = settings;
        this.origins = origins;
        this.addresses = new AddressLimiter(settings);
        java.util.HashMap<String, Counter> counters = new java.util.HashMap<>();
        for (String reason : REASONS) {
            counters.put(reason, Counter.builder("consultbridge.signaling.rejected").tag("reason", reason)
                    .description("signalling connections and messages refused by the limits against hostile input")
                    .register(registry));
        }
        this.rejected = Map.copyOf(counters);
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "signaling-guard");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true); // a cancelled hello deadline leaves no garbage behind
    }

    /** The decision on one WebSocket upgrade: a guard for the new socket, or an HTTP status and why. */
    public record Admission(ConnectionGuard connection, int status, String reason) {
        public boolean admitted() {
            return connection != null;
        }
    }

    /** Origin check, then the per-address socket limit (RFC 6455 §4.2.2: refuse with an HTTP error). */
    public Admission admit(Request request) {
        String origin = request.getHeaders().get(HttpHeader.ORIGIN);
        String host = request.getHeaders().get(HttpHeader.HOST);
        if (host == null) {
            host = request.getHttpURI().getAuthority();
        }
        if (!origins.allows(origin, host)) {
            rejected(REASON_ORIGIN);
            return new Admission(null, 403, "origin not allowed");
        }
        InetAddress client = clientAddress(request);
        if (!addresses.openSocket(client)) {
            rejected(REASON_SOCKETS_PER_ADDRESS);
            return new Admission(null, 429, "too many connections from this address");
        }
        return new Admission(new ConnectionGuard(this, client, true), 0, null);
    }

    InetAddress clientAddress(Request request) {
        SocketAddress remote = request.getConnectionMetaData().getRemoteSocketAddress();
        InetAddress peer = remote instanceof InetSocketAddress isa ? isa.getAddress() : null;
        return ClientAddress.resolve(peer, request.getHeaders().get(HttpHeader.X_FORWARDED_FOR),
                settings.trustedProxies());
    }

    public LimitSettings settings() {
        return settings;
    }

    AddressLimiter addresses() {
        return addresses;
    }

    void rejected(String reason) {
        rejected.get(reason).increment();
    }

    /** How many refusals for {@code reason} so far (tests, ops). */
    public double rejectedCount(String reason) {
        return rejected.get(reason).count();
    }

    /** Addresses with a remembered join bucket (bounded by {@code limits.tracked-addresses}). */
    public int trackedAddresses() {
        return addresses.trackedAddresses();
    }

    ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
        return timer.schedule(task, delay, unit);
    }

    /** Pending hello deadlines (tests: bounded by the open sockets). */
    public int pendingTimers() {
        return timer.getQueue().size();
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
