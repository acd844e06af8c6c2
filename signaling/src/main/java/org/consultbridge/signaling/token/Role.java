package org.consultbridge.signaling.token;

import java.util.Locale;

/** Who a participant is in a consultation. */
public enum Role {
    /** The physician holding the consultation. */
    DOCTOR,
    /** The telemedicine room's kiosk, with the patient and an assistant. */
    ROOM,
    /** A second specialist, an interpreter or a relative. */
    GUEST;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Role fromWire(String s) {
        if (s == null) {
            return null;
        }
        return switch (s) {
            case "doctor" -> DOCTOR;
            case "room" -> ROOM;
            case "guest" -> GUEST;
            default -> null;
        };
    }
}
