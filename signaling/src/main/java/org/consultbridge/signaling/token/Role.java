package org.consultbridge.signaling.token;

import java.util.Locale;

/**
 * Who a participant is in a consultation, and what that allows (docs/security.md has the whole table).
 * Doctors and practice staff join at once and admit the others from the waiting room; only a doctor holds the
 * consultation: ends it for everyone, and removes anybody.
 */
public enum Role {
    /** The physician holding the consultation. */
    DOCTOR,
    /** Practice staff: admit, decline and remove patients and guests, but not hold (end) the consultation. */
    STAFF,
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
            case "staff" -> STAFF;
            case "room" -> ROOM;
            case "guest" -> GUEST;
            default -> null;
        };
    }

    /** Joins without waiting and may admit or decline those who wait. */
    public boolean mayAdmit() {
        return this == DOCTOR || this == STAFF;
    }

    /** Waits in the waiting room (when it is on) until a doctor or staff admits it. */
    public boolean waits() {
        return !mayAdmit();
    }

    /** May remove {@code target} from the call: a doctor anybody else, staff only rooms and guests. */
    public boolean mayRemove(Role target) {
        return this == DOCTOR || (this == STAFF && target.waits());
    }

    /** May end the consultation for everyone. */
    public boolean mayEnd() {
        return this == DOCTOR;
    }
}
