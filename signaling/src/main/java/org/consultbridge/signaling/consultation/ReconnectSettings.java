package org.consultbridge.signaling.consultation;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Reconnects (issue #7): how long a participant in the call whose connection dropped keeps its place, and how the
 * server notices a connection that went silent.
 *
 * @param grace           the place (and the bridge endpoint) is kept this long; zero: a dropped connection leaves
 *                        at once
 * @param pingInterval    the server pings every socket this often (WebSocket ping, RFC 6455 §5.5.2); zero: never
 * @param livenessTimeout a socket from which nothing (message or pong) arrived for this long is taken as dropped;
 *                        zero: only the transport's own close counts
 */
public record ReconnectSettings(Duration grace, Duration pingInterval, Duration livenessTimeout) {

    /** From the root {@code consultbridge} section. */
    public static ReconnectSettings from(Config c) {
        return new ReconnectSettings(c.getDuration("consultation.reconnect-grace"),
                c.getDuration("consultation.ping-interval"), c.getDuration("consultation.liveness-timeout"));
    }

    public boolean graceEnabled() {
        return grace.isPositive();
    }

    public boolean livenessEnabled() {
        return pingInterval.isPositive() && livenessTimeout.isPositive();
    }
}
