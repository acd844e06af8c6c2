package org.consultbridge.signaling.limits;

import com.typesafe.config.Config;
import org.consultbridge.signaling.tls.TlsSettings;

/** The settings against hostile input: the limits and HTTPS (see {@link LimitSettings}, {@link TlsSettings}). */
public record HostileInputSettings(LimitSettings limits, TlsSettings tls) {

    /** From the {@code consultbridge} section. */
    public static HostileInputSettings from(Config c) {
        return new HostileInputSettings(LimitSettings.from(c), TlsSettings.from(c.getConfig("http")));
    }

    public HostileInputSettings withLimits(LimitSettings l) {
        return new HostileInputSettings(l, tls);
    }

    public HostileInputSettings withTls(TlsSettings t) {
        return new HostileInputSettings(limits, t);
    }
}
