package org.consultbridge.signaling.audit;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The {@code consultbridge.audit} section: the audit log of who joined which consultation when.
 *
 * @param enabled   write the log at all
 * @param dir       folder of the daily files (created, mode 700)
 * @param retention how long an entry is kept; a day's file is deleted once its last entry is older than this
 * @param key       key for the pseudonyms (HMAC-SHA256); empty = generated once and kept in {@code dir/audit.key}
 */
public record AuditSettings(boolean enabled, Path dir, Duration retention, String key) {

    public static AuditSettings from(Config audit) {
        Duration retention = audit.getDuration("retention");
        if (retention.isNegative() || retention.isZero()) {
            throw new IllegalArgumentException("consultbridge.audit.retention must be positive");
        }
        return new AuditSettings(audit.getBoolean("enabled"), Path.of(audit.getString("dir")), retention,
                audit.getString("key"));
    }

    public static AuditSettings off() {
        return new AuditSettings(false, Path.of("data", "audit"), Duration.ofDays(90), "");
    }

    public AuditSettings withDir(Path newDir) {
        return new AuditSettings(enabled, newDir, retention, key);
    }
}
