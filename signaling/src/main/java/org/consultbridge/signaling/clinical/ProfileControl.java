package org.consultbridge.signaling.clinical;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.signaling.consultation.Consultation;
import org.consultbridge.signaling.consultation.Participant;
import org.consultbridge.signaling.token.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consultation's clinical profile (issue #8): chosen by a doctor ({@code setProfile}, or the {@code profile}
 * claim of a doctor's token), told to every participant ({@code profile}), whose web clients apply it to their
 * cameras, and handed to the bridge as each participant's {@link org.consultbridge.bridge.api.VideoPreference}.
 */
public final class ProfileControl {

    public static final String NOT_ALLOWED = "not-allowed";
    public static final String PROFILE_INVALID = "profile-invalid";
    private static final Logger LOG = LoggerFactory.getLogger(ProfileControl.class);

    private final ObjectMapper json;
    private final ClinicalSettings settings;

    public ProfileControl(ObjectMapper json, ClinicalSettings settings) {
        this.json = json;
        this.settings = settings;
    }

    /** The consultation's profile: the one chosen, else the configured default. */
    public ClinicalProfile current(Consultation c) {
        ClinicalProfile p = c.profile();
        return p == null ? settings.defaultProfile() : p;
    }

    /**
     * A participant joined: a doctor's token may choose the profile ({@code tokenProfile}, null when its token has
     * none); the newcomer's endpoint gets the consultation's preference. Returns the profile now in force.
     */
    public ClinicalProfile onJoin(Consultation c, Participant p, ClinicalProfile tokenProfile, List<Participant> others) {
        if (tokenProfile != null && p.role() == Role.DOCTOR && tokenProfile != current(c)) {
            c.setProfile(tokenProfile);
            broadcast(others, tokenProfile, p.id());
            apply(others, tokenProfile);
        }
        ClinicalProfile now = current(c);
        apply(List.of(p), now);
        return now;
    }

    /**
     * {@code setProfile} from {@code from}: null when accepted ({@code accepted} runs, so the sender's ack goes out
     * first; then everyone, the sender included, gets {@code profile}), else {error code, message}.
     */
    public String[] onSetProfile(Consultation c, Participant from, List<Participant> all, JsonNode msg,
                                 Runnable accepted) {
        if (from.role() != Role.DOCTOR) {
            return new String[] {NOT_ALLOWED, "only a doctor chooses the clinical profile"};
        }
        JsonNode v = msg.get("profile");
        ClinicalProfile p = v != null && v.isTextual() ? ClinicalProfile.fromWire(v.asText()) : null;
        if (p == null) {
            return new String[] {PROFILE_INVALID, "'profile' must be balanced, motion or detail"};
        }
        c.setProfile(p);
        LOG.info("consultation {}: clinical profile {} set by {}", c.id(), p.wire(), from.id());
        accepted.run();
        apply(all, p);
        broadcast(all, p, from.id());
        return null;
    }

    private void broadcast(List<Participant> to, ClinicalProfile p, String by) {
        ObjectNode n = json.createObjectNode();
        n.put("type", "profile");
        n.put("profile", p.wire());
        n.put("by", by);
        String text = n.toString();
        for (Participant o : to) {
            o.connection().send(text);
        }
    }

    private static void apply(List<Participant> to, ClinicalProfile p) {
        for (Participant o : to) {
            BridgeEndpoint e = o.endpoint();
            if (e == null) {
                continue;
            }
            try {
                e.setVideoPreference(p.bridgePreference());
            } catch (RuntimeException ex) {
                LOG.debug("setting the video preference of {} failed: {}", o.id(), ex.toString());
            }
        }
    }
}
