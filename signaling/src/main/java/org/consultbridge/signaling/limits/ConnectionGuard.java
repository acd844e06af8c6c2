package org.consultbridge.signaling.limits;

import java.net.InetAddress;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The limits of one signalling WebSocket: its message rate (a token bucket; refused messages fill a second bucket
 * that closes the socket when a flood goes on), its client address's join rate, and the deadline for a successful
 * {@code hello}. Jetty delivers a socket's messages one at a time, so {@link #onMessage} needs no lock.
 */
public final class ConnectionGuard {

    /** What to do with one incoming message. */
    public enum Verdict { ALLOW, REJECT, CLOSE }

    private final SignalingGuard guard;
    private final InetAddress address;
    private final boolean countsSocket;
    private final TokenBucket messages;
    private final TokenBucket refusals;
    private ScheduledFuture<?> helloTimer;
    private boolean joined;
    private boolean closed;

    ConnectionGuard(SignalingGuard guard, InetAddress address, boolean countsSocket) {
        this.guard = guard;
        this.address = address;
        this.countsSocket = countsSocket;
        LimitSettings s = guard == null ? LimitSettings.NONE : guard.settings();
        long now = System.nanoTime();
        this.messages = new TokenBucket(s.messagesPerSecond(), s.messageBurst(), now);
        // "persists": more than rejectedBeforeClose refusals within about 10 s
        this.refusals = new TokenBucket(s.rejectedBeforeClose() / 10.0, s.rejectedBeforeClose(), now);
    }

    /** No limits at all: for sockets made outside a server (unit tests). */
    public static ConnectionGuard unlimited() {
        return new ConnectionGuard(null, null, false);
    }

    /** The client's address as the limits see it (after X-Forwarded-For from a trusted proxy). */
    public InetAddress address() {
        return address;
    }

    /** The socket opened: {@code onTimeout} runs (on the guard's timer thread) if no hello succeeds in time. */
    public synchronized void opened(Runnable onTimeout) {
        if (guard == null || closed || joined) {
            return;
        }
        helloTimer = guard.schedule(() -> {
            synchronized (this) {
                if (joined || closed) {
                    return;
                }
            }
            guard.rejected(SignalingGuard.REASON_HELLO_TIMEOUT);
            onTimeout.run();
        }, guard.settings().helloTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One incoming message (before it is parsed). */
    public Verdict onMessage() {
        if (guard == null) {
            return Verdict.ALLOW;
        }
        long now = System.nanoTime();
        if (messages.tryTake(now)) {
            return Verdict.ALLOW;
        }
        if (refusals.tryTake(now)) {
            guard.rejected(SignalingGuard.REASON_MESSAGE_RATE);
            return Verdict.REJECT;
        }
        guard.rejected(SignalingGuard.REASON_MESSAGE_FLOOD);
        return Verdict.CLOSE;
    }

    /** A {@code hello}: false when this address is over its join rate. */
    public boolean allowJoin() {
        if (guard == null || guard.addresses().tryJoin(address, System.nanoTime())) {
            return true;
        }
        guard.rejected(SignalingGuard.REASON_JOIN_RATE);
        return false;
    }

    /** Seconds until this address may join again. */
    public long joinRetryAfterSeconds() {
        return guard == null ? 0 : Math.max(1, guard.addresses().retryAfterSeconds(address, System.nanoTime()));
    }

    /** The hello succeeded: no deadline any more. */
    public synchronized void joined() {
        joined = true;
        if (helloTimer != null) {
            helloTimer.cancel(false);
            helloTimer = null;
        }
    }

    /** The socket closed (idempotent): its address has one socket less. */
    public void closed() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (helloTimer != null) {
                helloTimer.cancel(false);
                helloTimer = null;
            }
        }
        if (countsSocket) {
            guard.addresses().closeSocket(address);
        }
    }
}
