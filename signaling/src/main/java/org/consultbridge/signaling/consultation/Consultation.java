package org.consultbridge.signaling.consultation;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.consultbridge.signaling.clinical.ClinicalProfile;

/** One scheduled call: its participants, in the order they joined. Guarded by the registry's lock. */
public final class Consultation {

    private final String id;
    private final Instant createdAt = Instant.now();
    final Map<String, Participant> participants = new LinkedHashMap<>();
    /** Issue #8: the clinical profile a doctor chose; null = the configured default. */
    private volatile ClinicalProfile profile;

    Consultation(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public Instant createdAt() {
        return createdAt;
    }

    public ClinicalProfile profile() {
        return profile;
    }

    public void setProfile(ClinicalProfile profile) {
        this.profile = profile;
    }

    public List<Participant> participants() {
        return new ArrayList<>(participants.values());
    }
}
