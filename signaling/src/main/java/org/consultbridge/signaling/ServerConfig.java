package org.consultbridge.signaling;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.transport.HostCandidates;
import org.consultbridge.signaling.clinical.ClinicalSettings;
import org.consultbridge.signaling.consultation.AdmissionSettings;
import org.consultbridge.signaling.limits.HostileInputSettings;
import org.consultbridge.signaling.ops.OpsSettings;
import org.consultbridge.turn.TurnSettings;

/**
 * The server's configuration, read once at start from Typesafe Config (HOCON): {@code reference.conf} in the jar
 * holds every default, a file given with {@code -Dconfig.file} and environment variables override it.
 */
public record ServerConfig(String httpHost, int httpPort, String publicUrl, BridgeConfig bridge, String tokenSecret,
                           String tokenIssuer, Duration tokenMaxLifetime, Duration clockSkew, int maxMessageBytes,
                           int maxParticipants, TurnSettings turn, OpsSettings ops, AdmissionSettings admission,
                           HostileInputSettings hostile, ClinicalSettings clinical) {

    public static ServerConfig load() {
        return from(ConfigFactory.load());
    }

    public static ServerConfig from(Config root) {
        Config c = root.getConfig("consultbridge");
        String secret = c.getString("tokens.secret");
        if (!secret.isEmpty() && secret.getBytes(StandardCharsets.UTF_8).length < 32) {
            throw new IllegalArgumentException("consultbridge.tokens.secret must be at least 32 bytes (HS256)");
        }
        List<String> advertised = c.getValue("bridge.advertised-addresses").valueType()
                == com.typesafe.config.ConfigValueType.STRING
                ? List.of(c.getString("bridge.advertised-addresses").split("\\s*,\\s*"))
                : c.getStringList("bridge.advertised-addresses");
        BridgeConfig bridge = new BridgeConfig(c.getString("bridge.bind-address"), c.getInt("bridge.udp-port"),
                advertised.stream().map(String::strip).filter(s -> !s.isBlank()).toList(), c.getInt("bridge.tcp-port"),
                c.getInt("bridge.workers"));
        TurnSettings turn = TurnSettings.from(c.getConfig("turn"), c.getString("turn.host").isBlank()
                ? List.of() : HostCandidates.addresses(bridge));
        return new ServerConfig(c.getString("http.host"), c.getInt("http.port"), c.getString("public-url"),
                bridge, secret, c.getString("tokens.issuer"), c.getDuration("tokens.max-lifetime"),
                c.getDuration("tokens.clock-skew"), c.getInt("limits.max-message-bytes"),
                c.getInt("limits.max-participants"), turn, OpsSettings.from(c), AdmissionSettings.from(c),
                HostileInputSettings.from(c), ClinicalSettings.from(c));
    }

    /** Demo mode: no secret (nor JWK set) configured, a secret is generated and the demo-token endpoint is on. */
    public boolean demoMode() {
        return tokenSecret.isEmpty() && admission.jwksFile().isBlank();
    }

    public ServerConfig withHttpPort(int port) {
        return withHttp(httpHost, port);
    }

    public ServerConfig withHttp(String host, int port) {
        return new ServerConfig(host, port, publicUrl, bridge, tokenSecret, tokenIssuer, tokenMaxLifetime,
                clockSkew, maxMessageBytes, maxParticipants, turn, ops, admission, hostile, clinical);
    }

    /** The same configuration with other TURN settings (tests). */
    public ServerConfig withTurn(TurnSettings newTurn) {
        return new ServerConfig(httpHost, httpPort, publicUrl, bridge, tokenSecret, tokenIssuer, tokenMaxLifetime,
                clockSkew, maxMessageBytes, maxParticipants, newTurn, ops, admission, hostile, clinical);
    }

    /** The same configuration with other admin/ops settings (tests). */
    public ServerConfig withOps(OpsSettings newOps) {
        return new ServerConfig(httpHost, httpPort, publicUrl, bridge, tokenSecret, tokenIssuer, tokenMaxLifetime,
                clockSkew, maxMessageBytes, maxParticipants, turn, newOps, admission, hostile, clinical);
    }

    /** The same configuration with other admission settings: waiting room, one-time tokens, audit (tests). */
    public ServerConfig withAdmission(AdmissionSettings newAdmission) {
        return new ServerConfig(httpHost, httpPort, publicUrl, bridge, tokenSecret, tokenIssuer, tokenMaxLifetime,
                clockSkew, maxMessageBytes, maxParticipants, turn, ops, newAdmission, hostile, clinical);
    }

    /** The same configuration with other limits and HTTPS settings (tests). */
    public ServerConfig withHostile(HostileInputSettings newHostile) {
        return new ServerConfig(httpHost, httpPort, publicUrl, bridge, tokenSecret, tokenIssuer, tokenMaxLifetime,
                clockSkew, maxMessageBytes, maxParticipants, turn, ops, admission, newHostile, clinical);
    }

    /** The same configuration with other end-to-end encryption and clinical profile settings (tests). */
    public ServerConfig withClinical(ClinicalSettings newClinical) {
        return new ServerConfig(httpHost, httpPort, publicUrl, bridge, tokenSecret, tokenIssuer, tokenMaxLifetime,
                clockSkew, maxMessageBytes, maxParticipants, turn, ops, admission, hostile, newClinical);
    }
}
