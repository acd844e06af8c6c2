package org.consultbridge.turn;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code consultbridge.turn} section of the configuration, typed: what the signalling server needs to hand out
 * TURN credentials and probe the TURN server, and what {@link CoturnConfig} needs to write coturn's
 * {@code turnserver.conf}. One source for both, so they cannot disagree.
 *
 * @param host                 name or address browsers use in {@code turn:}/{@code turns:} URLs (and the name on
 *                             the certificate); empty = TURN off
 * @param realm                the TURN realm (RFC 8489 §9.2); defaults to {@code host}
 * @param port                 plain TURN, UDP and TCP
 * @param tlsPort              TURN over TLS (443 passes most hospital proxies; 5349 is the IANA port)
 * @param listeningIps         addresses coturn listens on; empty = all of the host's
 * @param relayIps             addresses coturn relays from; empty = its listening addresses
 * @param externalIp           coturn's {@code external-ip} behind 1:1 NAT ({@code public} or
 *                             {@code public/private}); empty = not behind NAT
 * @param certFile             PEM certificate chain for TLS
 * @param keyFile              PEM private key for TLS
 * @param minPort              lowest relay port
 * @param maxPort              highest relay port
 * @param secrets              TURN REST shared secrets; the first signs new credentials, all are accepted (rotation)
 * @param credentialTtl        lifetime of issued credentials
 * @param userQuota            allocations per username (one participant)
 * @param totalQuota           allocations on the whole server
 * @param maxBps               bytes per second per TURN session, 0 = unlimited
 * @param bpsCapacity          bytes per second for the whole server, 0 = unlimited
 * @param cipherList           OpenSSL cipher list for TLS 1.2
 * @param allowedPeerAddresses the only peers besides public ones: the bridge's addresses
 * @param bridgeOnly           deny every peer but {@code allowedPeerAddresses}
 * @param probeInterval        how often the signalling server probes the TURN server
 * @param probeTimeout         how long one probe may take
 */
public record TurnSettings(String host, String realm, int port, int tlsPort, List<String> listeningIps,
                           List<String> relayIps, String externalIp, String certFile, String keyFile, int minPort,
                           int maxPort, List<String> secrets, Duration credentialTtl, int userQuota, int totalQuota,
                           long maxBps, long bpsCapacity, String cipherList, List<String> allowedPeerAddresses,
                           boolean bridgeOnly, Duration probeInterval, Duration probeTimeout) {

    /** Shared secrets shorter than this are refused: they sign credentials anyone can try offline. */
    public static final int MIN_SECRET_BYTES = 32;

    public TurnSettings {
        listeningIps = List.copyOf(listeningIps);
        relayIps = List.copyOf(relayIps);
        secrets = List.copyOf(secrets);
        allowedPeerAddresses = List.copyOf(allowedPeerAddresses);
        if (realm == null || realm.isBlank()) {
            realm = host;
        }
        if (!host.isEmpty()) {
            if (secrets.isEmpty()) {
                throw new IllegalArgumentException("consultbridge.turn.host is set but consultbridge.turn.secrets is "
                        + "empty (CB_TURN_SECRETS): TURN credentials cannot be issued");
            }
            for (String s : secrets) {
                if (s.getBytes(StandardCharsets.UTF_8).length < MIN_SECRET_BYTES) {
                    throw new IllegalArgumentException("every consultbridge.turn.secrets entry must be at least "
                            + MIN_SECRET_BYTES + " bytes");
                }
            }
            checkPort("port", port);
            checkPort("tls-port", tlsPort);
            checkPort("min-port", minPort);
            checkPort("max-port", maxPort);
            if (minPort > maxPort) {
                throw new IllegalArgumentException("consultbridge.turn.min-port is above max-port");
            }
            if (credentialTtl.isNegative() || credentialTtl.isZero()) {
                throw new IllegalArgumentException("consultbridge.turn.credential-ttl must be positive");
            }
        }
    }

    private static void checkPort(String name, int p) {
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException("consultbridge.turn." + name + " out of range: " + p);
        }
    }

    /**
     * Reads the {@code consultbridge.turn} section.
     *
     * @param turn                 the section
     * @param defaultAllowedPeers  used when {@code allowed-peer-addresses} is empty: the bridge's own addresses
     */
    public static TurnSettings from(Config turn, List<String> defaultAllowedPeers) {
        List<String> allowed = list(turn, "allowed-peer-addresses");
        return new TurnSettings(turn.getString("host").strip(), turn.getString("realm").strip(), turn.getInt("port"),
                turn.getInt("tls-port"), list(turn, "listening-ips"), list(turn, "relay-ips"),
                turn.getString("external-ip").strip(), turn.getString("cert-file"), turn.getString("key-file"),
                turn.getInt("min-port"), turn.getInt("max-port"), list(turn, "secrets"),
                turn.getDuration("credential-ttl"), turn.getInt("user-quota"), turn.getInt("total-quota"),
                turn.getLong("max-bps"), turn.getLong("bps-capacity"), turn.getString("cipher-list"),
                allowed.isEmpty() ? defaultAllowedPeers : allowed, turn.getBoolean("bridge-only"),
                turn.getDuration("probe.interval"), turn.getDuration("probe.timeout"));
    }

    /** A list setting, also accepted as one comma-separated string (how environment variables carry lists). */
    static List<String> list(Config c, String key) {
        List<String> raw = c.getValue(key).valueType() == ConfigValueType.STRING
                ? List.of(c.getString(key).split(","))
                : c.getStringList(key);
        List<String> out = new ArrayList<>();
        for (String s : raw) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        return out;
    }

    /** TURN is configured: the server hands out credentials and probes it. */
    public boolean enabled() {
        return !host.isEmpty();
    }

    /** The secret that signs new credentials (the first). */
    public String signingSecret() {
        return secrets.getFirst();
    }

    /**
     * The {@code urls} of the {@code RTCIceServer} (RFC 7065 URIs): UDP and TCP on {@code port}, TLS on
     * {@code tlsPort}.
     */
    public List<String> iceUrls() {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return List.of("turn:" + h + ":" + port + "?transport=udp", "turn:" + h + ":" + port + "?transport=tcp",
                "turns:" + h + ":" + tlsPort + "?transport=tcp");
    }

    /** The same settings listening elsewhere (tests; a second instance on one host). */
    public TurnSettings withListening(List<String> ips, int newPort, int newTlsPort, int newMinPort,
                                      int newMaxPort) {
        return new TurnSettings(host, realm, newPort, newTlsPort, ips, relayIps, externalIp, certFile, keyFile,
                newMinPort, newMaxPort, secrets, credentialTtl, userQuota, totalQuota, maxBps, bpsCapacity,
                cipherList, allowedPeerAddresses, bridgeOnly, probeInterval, probeTimeout);
    }

    public TurnSettings withCertificate(String newCertFile, String newKeyFile) {
        return new TurnSettings(host, realm, port, tlsPort, listeningIps, relayIps, externalIp, newCertFile,
                newKeyFile, minPort, maxPort, secrets, credentialTtl, userQuota, totalQuota, maxBps, bpsCapacity,
                cipherList, allowedPeerAddresses, bridgeOnly, probeInterval, probeTimeout);
    }

    public TurnSettings withHost(String newHost, String newRealm, List<String> newSecrets,
                                 List<String> newAllowedPeers) {
        return new TurnSettings(newHost, newRealm, port, tlsPort, listeningIps, relayIps, externalIp, certFile,
                keyFile, minPort, maxPort, newSecrets, credentialTtl, userQuota, totalQuota, maxBps, bpsCapacity,
                cipherList, newAllowedPeers, bridgeOnly, probeInterval, probeTimeout);
    }

    public TurnSettings withCredentialTtl(Duration ttl) {
        return new TurnSettings(host, realm, port, tlsPort, listeningIps, relayIps, externalIp, certFile, keyFile,
                minPort, maxPort, secrets, ttl, userQuota, totalQuota, maxBps, bpsCapacity, cipherList,
                allowedPeerAddresses, bridgeOnly, probeInterval, probeTimeout);
    }
}
