package org.consultbridge.signaling.consultation;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * All running consultations. A consultation is created by its first join and disappears with its last participant.
 * Joins, admissions and leaves are rare control-path events: a plain lock keeps them simple and consistent.
 * A participant is either admitted (in the call, with a bridge endpoint) or waiting (in the waiting room); both count
 * against the maximum.
 */
public final class ConsultationRegistry {

    /** Result of a join attempt. */
    public sealed interface JoinResult {
        /**
         * @param others   the others in the call (admitted), without the new participant
         * @param replaced the earlier connection of the same participant id, or null
         */
        record Joined(Consultation consultation, List<Participant> others, Participant replaced) implements JoinResult {
        }

        record Full(int max) implements JoinResult {
        }

        /** This node is draining: it takes no new consultations (joins to running ones still work). */
        record Draining() implements JoinResult {
        }

        /** A doctor ended this consultation: it cannot be joined again. */
        record Ended() implements JoinResult {
        }
    }

    /** An admission: the participant, and the others in the call before it. */
    public record Admitted(Participant participant, List<Participant> others) {
    }

    /** Ended consultation ids are remembered this many at most (each until the tokens for it have expired). */
    private static final int ENDED_CAPACITY = 100_000;

    private final Map<String, Consultation> consultations = new ConcurrentHashMap<>();
    private final ExpiringSet ended = new ExpiringSet(ENDED_CAPACITY, Clock.systemUTC());
    private final int maxParticipants;
    private volatile boolean draining;

    public ConsultationRegistry(int maxParticipants) {
        this.maxParticipants = maxParticipants;
    }

    /** Adds a participant, admitted at once (no waiting room). */
    public JoinResult join(String consultationId, Participant participant) {
        return join(consultationId, participant, false);
    }

    /**
     * Adds a participant; a participant id already present (a reconnect from a new socket) replaces the old one,
     * which is returned so that its socket and endpoint can be closed.
     *
     * @param waitingRoom whether rooms and guests wait for admission: then the new participant is admitted only if
     *                    its role admits others (doctor, staff) or it replaces an admitted connection (a reconnect
     *                    keeps its place)
     */
    public synchronized JoinResult join(String consultationId, Participant participant, boolean waitingRoom) {
        if (ended.contains(consultationId)) {
            return new JoinResult.Ended();
        }
        if (draining && !consultations.containsKey(consultationId)) {
            return new JoinResult.Draining();
        }
        Consultation c = consultations.computeIfAbsent(consultationId, Consultation::new);
        Participant replaced = c.participants.get(participant.id());
        if (replaced == null && c.participants.size() >= maxParticipants) {
            if (c.participants.isEmpty()) {
                consultations.remove(consultationId);
            }
            return new JoinResult.Full(maxParticipants);
        }
        c.participants.remove(participant.id());
        participant.setAdmitted(!waitingRoom || participant.role().mayAdmit()
                || (replaced != null && replaced.admitted()));
        List<Participant> others = admittedIn(c);
        c.participants.put(participant.id(), participant);
        return new JoinResult.Joined(c, others, replaced);
    }

    /** Removes the participant if it is still the one registered; returns everyone left (admitted and waiting). */
    public synchronized Optional<List<Participant>> leave(String consultationId, Participant participant) {
        Consultation c = consultations.get(consultationId);
        if (c == null || c.participants.get(participant.id()) != participant) {
            return Optional.empty();
        }
        c.participants.remove(participant.id());
        if (c.participants.isEmpty()) {
            consultations.remove(consultationId);
        }
        return Optional.of(c.participants());
    }

    /**
     * Admits a waiting participant.
     *
     * @return the participant and the others in the call before it, or empty when no such participant waits
     */
    public synchronized Optional<Admitted> admit(String consultationId, String participantId) {
        Consultation c = consultations.get(consultationId);
        Participant p = c == null ? null : c.participants.get(participantId);
        if (p == null || p.admitted() || p.dismissed()) {
            return Optional.empty();
        }
        List<Participant> others = admittedIn(c);
        p.setAdmitted(true);
        return Optional.of(new Admitted(p, others));
    }

    /**
     * Takes a participant out (declined or removed): it is marked dismissed and no longer counts.
     *
     * @param admitted true to take an admitted participant, false a waiting one
     * @return the participant, or empty when there is no such participant in that state
     */
    public synchronized Optional<Participant> dismiss(String consultationId, String participantId, boolean admitted) {
        Consultation c = consultations.get(consultationId);
        Participant p = c == null ? null : c.participants.get(participantId);
        if (p == null || p.admitted() != admitted || p.dismissed()) {
            return Optional.empty();
        }
        p.dismiss();
        c.participants.remove(participantId);
        if (c.participants.isEmpty()) {
            consultations.remove(consultationId);
        }
        return Optional.of(p);
    }

    /**
     * Ends a consultation: everybody in it (admitted and waiting) is dismissed and returned; it is gone, and joins
     * to it are refused ({@link JoinResult.Ended}) until {@code refuseJoinsUntil}.
     */
    public synchronized List<Participant> end(String consultationId, Instant refuseJoinsUntil) {
        ended.add(consultationId, refuseJoinsUntil);
        Consultation c = consultations.remove(consultationId);
        if (c == null) {
            return List.of();
        }
        List<Participant> all = c.participants();
        all.forEach(Participant::dismiss);
        c.participants.clear();
        return all;
    }

    /** Whether {@code participant} (this very object) is still registered in the consultation. */
    public synchronized boolean isPresent(String consultationId, Participant participant) {
        Consultation c = consultations.get(consultationId);
        return c != null && c.participants.get(participant.id()) == participant;
    }

    /** Everyone connected to the consultation: admitted and waiting. */
    public synchronized List<Participant> participants(String consultationId) {
        Consultation c = consultations.get(consultationId);
        return c == null ? List.of() : c.participants();
    }

    /** Those in the call (admitted). */
    public synchronized List<Participant> admitted(String consultationId) {
        Consultation c = consultations.get(consultationId);
        return c == null ? List.of() : admittedIn(c);
    }

    /** Those in the waiting room, in the order they came. */
    public synchronized List<Participant> waiting(String consultationId) {
        Consultation c = consultations.get(consultationId);
        return c == null ? List.of() : c.participants.values().stream().filter(p -> !p.admitted()).toList();
    }

    /** Drain: refuse new consultations from now on (running ones go on, their participants may rejoin). */
    public synchronized void setDraining(boolean on) {
        draining = on;
    }

    public boolean draining() {
        return draining;
    }

    public synchronized List<Consultation> consultations() {
        return List.copyOf(consultations.values());
    }

    private static List<Participant> admittedIn(Consultation c) {
        return c.participants.values().stream().filter(Participant::admitted).toList();
    }
}
