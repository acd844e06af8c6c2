package org.consultbridge.signaling.limits;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The limits against hostile input on the signalling port ({@code consultbridge.limits} and the origin and proxy
 * settings of {@code consultbridge.http}; every key documented in reference.conf).
 *
 * @param joinsPerMinute       {@code hello}s per client address and minute, on average
 * @param joinBurst            {@code hello}s per client address at once
 * @param messagesPerSecond    messages per socket and second, on average
 * @param messageBurst         messages per socket at once
 * @param rejectedBeforeClose  refused messages within 10 s after which the socket is closed (4429)
 * @param socketsPerAddress    open WebSockets per client address
 * @param maxConnections       open connections (HTTP and WebSocket, all addresses) on the public port(s)
 * @param helloTimeout         a socket without a successful {@code hello} by then is closed (4408)
 * @param trackedAddresses     at most this many addresses are remembered for the join limit (oldest forgotten)
 * @param exemptAddresses      client addresses without per-address limits (local tools, the load generator)
 * @param trustedProxies       peers whose X-Forwarded-For names the client (a reverse proxy in front)
 * @param allowedOrigins       browser origins allowed besides the server's own (scheme://host[:port]; "*" = any)
 */
public record LimitSettings(double joinsPerMinute, int joinBurst, double messagesPerSecond, int messageBurst,
                            int rejectedBeforeClose, int socketsPerAddress, int maxConnections, Duration helloTimeout,
                            int trackedAddresses, Set<InetAddress> exemptAddresses, Set<InetAddress> trustedProxies,
                            List<String> allowedOrigins) {

    /** No limits at all (sockets made outside the server, e.g. in unit tests). */
    public static final LimitSettings NONE = new LimitSettings(1e9, 1_000_000_000, 1e9, 1_000_000_000,
            1_000_000_000, Integer.MAX_VALUE, Integer.MAX_VALUE, Duration.ofDays(365), 1, Set.of(), Set.of(),
            List.of("*"));

    /** From the {@code consultbridge} section. */
    public static LimitSettings from(Config c) {
        return new LimitSettings(
                positive(c, "limits.joins-per-minute"), (int) positive(c, "limits.join-burst"),
                positive(c, "limits.messages-per-second"), (int) positive(c, "limits.message-burst"),
                (int) positive(c, "limits.rejected-before-close"), (int) positive(c, "limits.sockets-per-address"),
                (int) positive(c, "limits.max-connections"), c.getDuration("limits.hello-timeout"),
                (int) positive(c, "limits.tracked-addresses"), addresses(c, "limits.exempt-addresses"),
                addresses(c, "http.trusted-proxies"), list(c, "http.allowed-origins"));
    }

    private static double positive(Config c, String key) {
        double v = c.getDouble(key);
        if (!(v > 0)) {
            throw new IllegalArgumentException("consultbridge." + key + " must be > 0");
        }
        return v;
    }

    /** A list, or a comma-separated string (the form environment variables give). */
    static List<String> list(Config c, String key) {
        List<String> raw = c.getValue(key).valueType() == ConfigValueType.STRING
                ? List.of(c.getString(key).split(",")) : c.getStringList(key);
        return raw.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    private static Set<InetAddress> addresses(Config c, String key) {
        return list(c, key).stream().map(a -> {
            InetAddress parsed = ClientAddress.parseLiteral(a);
            if (parsed == null) {
                throw new IllegalArgumentException("consultbridge." + key + ": not an IP address: " + a);
            }
            return parsed;
        }).collect(Collectors.toUnmodifiableSet());
    }

    static InetAddress loopback(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
