package org.consultbridge.signaling.clinical;

import com.typesafe.config.Config;

/**
 * The {@code consultbridge.e2ee} and {@code consultbridge.profiles} sections (issue #8).
 *
 * @param e2eeEnabled      web clients encrypt media end to end (told in {@code welcome}); the server relays keys
 * @param e2eeAllowDisable a page may turn end-to-end encryption off with {@code e2ee=0} (diagnosis only)
 * @param defaultProfile   a consultation's clinical profile until a doctor's token or {@code setProfile} says
 *                         otherwise
 */
public record ClinicalSettings(boolean e2eeEnabled, boolean e2eeAllowDisable, ClinicalProfile defaultProfile) {

    public static ClinicalSettings from(Config c) {
        String profile = c.getString("profiles.default");
        ClinicalProfile p = ClinicalProfile.fromWire(profile);
        if (p == null) {
            throw new IllegalArgumentException("consultbridge.profiles.default must be balanced, motion or detail, not "
                    + profile);
        }
        return new ClinicalSettings(c.getBoolean("e2ee.enabled"), c.getBoolean("e2ee.allow-disable"), p);
    }

    public ClinicalSettings withE2ee(boolean enabled, boolean allowDisable) {
        return new ClinicalSettings(enabled, allowDisable, defaultProfile);
    }
}
