package org.consultbridge.signaling.ws;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.consultbridge.signaling.consultation.Consultation;
import org.consultbridge.signaling.consultation.ExpiringSet;
import org.consultbridge.signaling.consultation.Participant;
import org.consultbridge.signaling.consultation.ParticipantConnection;
import org.consultbridge.signaling.consultation.ReconnectSettings;

/**
 * Reconnects (issue #7): a participant in the call whose connection drops keeps its place for the grace period and
 * may take it back on a new connection with its <b>resume token</b>, without a new admission.
 *
 * <ul>
 *   <li>A resume token is 32 random bytes (base64url), issued to one admitted participant in its {@code welcome} or
 *       {@code admitted} and replaced by a new one on every resume: each token resumes once. Only its SHA-256 is
 *       kept, in memory; it is valid for that participant of that consultation only, while the participant is in
 *       the call or within its grace period.</li>
 *   <li>When the grace period ends without a resume, the caller's expiry action runs (the participant leaves) and
 *       the token's hash is remembered until {@code tokens.max-lifetime} passes, so that a late resume is told
 *       {@code resume-expired} rather than {@code resume-invalid}.</li>
 *   <li>One timer thread also paces the sockets' liveness pings.</li>
 * </ul>
 *
 * The join token plays no part here: a one-time join token stays spent once its participant has left.
 */
public final class Reconnects implements AutoCloseable {

    /** Why a resume is refused: the error code for the client. */
    public enum Refusal {
        /** unknown, used, or another participant's token */
        INVALID(ErrorCode.RESUME_INVALID, "this resume token is not valid: join again with your link"),
        /** the grace period ended: the participant has left */
        EXPIRED(ErrorCode.RESUME_EXPIRED, "the connection was lost for too long: join again with your link");

        private final String code;
        private final String message;

        Refusal(String code, String message) {
            this.code = code;
            this.message = message;
        }

        public String code() {
            return code;
        }

        public String message() {
            return message;
        }
    }

    /**
     * A resume: the participant (now attached to the new connection), its consultation, the connection it had
     * before (to be closed, unless it is already gone), whether it was marked reconnecting, and its next token.
     */
    public record Resumed(Consultation consultation, Participant participant, ParticipantConnection previous,
                          boolean wasReconnecting, String nextToken) {
    }

    private record Held(Consultation consultation, Participant participant) {
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int EXPIRED_CAPACITY = 100_000;

    private final ReconnectSettings settings;
    private final Duration rememberExpired;
    private final ScheduledExecutorService timer;
    private final ExpiringSet expired;
    private final Clock clock;
    // guarded by this
    private final Map<String, Held> byHash = new HashMap<>();
    private final Map<Participant, String> hashOf = new IdentityHashMap<>();
    private final Map<Participant, ScheduledFuture<?>> graceTimers = new IdentityHashMap<>();

    public Reconnects(ReconnectSettings settings, Duration rememberExpired, Clock clock) {
        this.settings = settings;
        this.rememberExpired = rememberExpired;
        this.clock = clock;
        this.expired = new ExpiringSet(EXPIRED_CAPACITY, clock);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("signaling-reconnects").unstarted(r));
    }

    public ReconnectSettings settings() {
        return settings;
    }

    public boolean enabled() {
        return settings.graceEnabled();
    }

    /** A new resume token for {@code p} (its earlier one, if any, is void). */
    public synchronized String issue(Consultation c, Participant p) {
        String token = newToken();
        String old = hashOf.put(p, hash(token));
        if (old != null) {
            byHash.remove(old);
        }
        byHash.put(hash(token), new Held(c, p));
        return token;
    }

    /**
     * {@code p}'s connection {@code dropped} closed without a {@code leave}: it keeps its place for the grace period.
     * After it, unless it resumed, {@code expire} runs (on the timer thread).
     *
     * @return false when {@code dropped} is no longer its connection or it has no token (nothing kept)
     */
    public synchronized boolean dropped(Participant p, ParticipantConnection dropped, Runnable expire) {
        if (p.connection() != dropped || !hashOf.containsKey(p)) {
            return false;
        }
        p.markReconnecting();
        ScheduledFuture<?> previous = graceTimers.put(p, timer.schedule(() -> {
            boolean gone;
            synchronized (this) {
                gone = p.connection() == dropped && p.reconnecting();
                if (gone) {
                    graceTimers.remove(p);
                    String h = hashOf.remove(p);
                    if (h != null) {
                        byHash.remove(h);
                        expired.add(h, clock.instant().plus(rememberExpired));
                    }
                }
            }
            if (gone) {
                expire.run();
            }
        }, settings.grace().toMillis(), TimeUnit.MILLISECONDS));
        if (previous != null) {
            previous.cancel(false);
        }
        return true;
    }

    /**
     * A hello with a resume token: takes {@code participantId}'s place in {@code consultationId} for {@code fresh}.
     *
     * @return a {@link Resumed} or a {@link Refusal}
     */
    public Object resume(String token, String consultationId, String participantId, ParticipantConnection fresh) {
        String h = hash(token);
        synchronized (this) {
            Held held = byHash.get(h);
            if (held == null) {
                return expired.contains(h) ? Refusal.EXPIRED : Refusal.INVALID;
            }
            Participant p = held.participant();
            if (!held.consultation().id().equals(consultationId) || !p.id().equals(participantId)) {
                return Refusal.INVALID; // a token of somebody else: refused, and it stays valid for its owner
            }
            if (p.dismissed()) {
                return Refusal.INVALID;
            }
            ParticipantConnection previous = p.connection();
            boolean wasReconnecting = p.reconnecting();
            p.attach(fresh);
            ScheduledFuture<?> grace = graceTimers.remove(p);
            if (grace != null) {
                grace.cancel(false);
            }
            byHash.remove(h);
            String next = newToken();
            hashOf.put(p, hash(next));
            byHash.put(hash(next), held);
            return new Resumed(held.consultation(), p, previous, wasReconnecting, next);
        }
    }

    /** {@code p} left, was removed or declined, or the consultation ended: its token is void. */
    public synchronized void forget(Participant p) {
        String h = hashOf.remove(p);
        if (h != null) {
            byHash.remove(h);
        }
        ScheduledFuture<?> grace = graceTimers.remove(p);
        if (grace != null) {
            grace.cancel(false);
        }
    }

    /** Runs {@code task} every {@code interval} (the sockets' liveness pings) until the future is cancelled. */
    public ScheduledFuture<?> every(Duration interval, Runnable task) {
        long ms = Math.max(1, interval.toMillis());
        return timer.scheduleAtFixedRate(task, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Resume tokens held now (tests). */
    public synchronized int held() {
        return byHash.size();
    }

    private static String newToken() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static String hash(String token) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
