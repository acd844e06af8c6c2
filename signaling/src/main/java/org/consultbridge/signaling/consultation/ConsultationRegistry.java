package org.consultbridge.signaling.consultation;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * All running consultations. A consultation is created by its first join and disappears with its last participant.
 * Joins and leaves are rare control-path events: a plain lock keeps them simple and consistent.
 */
public final class ConsultationRegistry {

    /** Result of a join attempt. */
    public sealed interface JoinResult {
        record Joined(Consultation consultation, List<Participant> others, Participant replaced) implements JoinResult {
        }

        record Full(int max) implements JoinResult {
        }

        /** This node is draining: it takes no new consultations (joins to running ones still work). */
        record Draining() implements JoinResult {
        }
    }

    private final Map<String, Consultation> consultations = new ConcurrentHashMap<>();
    private final int maxParticipants;
    private volatile boolean draining;

    public ConsultationRegistry(int maxParticipants) {
        this.maxParticipants = maxParticipants;
    }

    /**
     * Adds a participant; a participant id already present (a reconnect from a new socket) replaces the old one,
     * which is returned so that its socket and endpoint can be closed.
     */
    public synchronized JoinResult join(String consultationId, Participant participant) {
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
        List<Participant> others = c.participants();
        c.participants.put(participant.id(), participant);
        return new JoinResult.Joined(c, others, replaced);
    }

    /** Removes the participant if it is still the one registered; returns the others to notify. */
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

    public synchronized List<Participant> participants(String consultationId) {
        Consultation c = consultations.get(consultationId);
        return c == null ? List.of() : c.participants();
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
}
