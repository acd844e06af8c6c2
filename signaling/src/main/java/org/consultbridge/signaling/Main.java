package org.consultbridge.signaling;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.consultbridge.turn.CoturnConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code java -jar consultbridge.jar [serve | token ... | turn-config ... | --help]}. */
public final class Main {

    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        String command = args.length == 0 ? "serve" : args[0];
        switch (command) {
            case "serve" -> serve();
            case "token" -> System.exit(token(args));
            case "turn-config" -> System.exit(turnConfig(args));
            case "drain" -> System.exit(drain(args));
            case "--help", "-h", "help" -> usage();
            default -> {
                System.err.println("unknown command: " + command);
                usage();
                System.exit(2);
            }
        }
    }

    private static void usage() {
        System.out.println("""
                ConsultBridge: self-hosted video consultations

                  java -jar consultbridge.jar [serve]
                      start the server (embedded defaults; override with -Dconfig.file=... or CB_* variables)
                  java -jar consultbridge.jar token --consultation ID --role doctor|staff|room|guest --name NAME [--ttl 2h] [--profile balanced|motion|detail]
                                             [--participant ID] [--not-before 10m]
                      print a join token signed with the configured consultbridge.tokens.secret
                  java -jar consultbridge.jar drain [--resume | --status] [--url http://127.0.0.1:9180]
                      stop (or resume) taking new consultations on a running server, via its admin port;
                      the ops credential comes from the configuration (CB_OPS_CREDENTIAL)
                  java -jar consultbridge.jar turn-config [--out FILE]
                      print (or write) coturn's turnserver.conf for the configured consultbridge.turn section
                """);
    }

    /** "port 10000" or "ports 10000-10001": what the firewall opens. */
    static String ports(java.util.List<Integer> ports) {
        if (ports.size() == 1) {
            return "port " + ports.get(0);
        }
        int min = java.util.Collections.min(ports);
        int max = java.util.Collections.max(ports);
        return max - min == ports.size() - 1 ? "ports " + min + "-" + max : "ports " + ports;
    }

    static void serve() throws Exception {
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            // Netty samples buffers for leaks by default, with a stack-trace record per sampled access (the only
            // exceptions a flight recording of the loaded server showed, ~285/s); the tests run with it on
            io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        }
        ServerConfig config = ServerConfig.load();
        String secret = config.tokenSecret();
        if (config.demoMode()) {
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            secret = Base64.getEncoder().encodeToString(random);
            LOG.info("no consultbridge.tokens.secret configured: demo mode with a random secret "
                    + "(tokens die with this process; /api/demo-token is enabled)");
        }
        TokenService tokens = TokenService.of(secret, config.admission().jwksFile(), config.tokenIssuer(),
                config.tokenMaxLifetime(), config.clockSkew());
        MediaBridge bridge = MediaBridges.start(config.bridge());
        SignalingServer server = SignalingServer.start(config, tokens, bridge);
        String base = config.publicUrl().isEmpty() ? "http://localhost:" + server.port()
                : config.publicUrl().replaceAll("/+$", "");
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                LOG.warn("stopping the web server failed", e);
            }
            bridge.close();
            stopped.countDown();
        }, "shutdown"));

        String demo = "demo-" + Long.toHexString(new SecureRandom().nextLong() & 0xFFFFFFFFL);
        StringBuilder out = new StringBuilder();
        out.append("\nConsultBridge is running: ").append(base).append("/\n");
        httpsNote(out, config, server);
        out.append("Media bridge: ").append(bridge.workerCount()).append(bridge.workerCount() == 1 ? " worker" : " workers")
                .append(" on UDP ").append(ports(bridge.udpPorts()))
                .append(bridge.tcpPorts().isEmpty() ? "" : " and TCP " + ports(bridge.tcpPorts()) + " (ICE-TCP)")
                .append(".\n");
        String adminBase = "http://" + (config.ops().adminHost().contains(":") ? "[" + config.ops().adminHost() + "]"
                : config.ops().adminHost()) + ":" + server.adminPort();
        out.append("Admin port: ").append(adminBase).append("/metrics, /healthz/ready, ops dashboard ")
                .append(adminBase).append("/ops");
        if (server.opsCredentialGenerated()) {
            out.append(" (user ops, password ").append(server.opsCredential())
                    .append(": generated for this run; set consultbridge.ops.credential / CB_OPS_CREDENTIAL)");
        }
        out.append("\n");
        if (config.demoMode()) {
            out.append("\nA demo consultation (").append(demo).append("); open each link in its own tab:\n");
            out.append("  Doctor:            ").append(base).append("/doctor.html#token=")
                    .append(tokens.mint(demo, Role.DOCTOR, "Dr. Demo", Duration.ofHours(12))).append('\n');
            out.append("  Telemedicine room: ").append(base).append("/room.html#token=")
                    .append(tokens.mint(demo, Role.ROOM, "Room Demo", Duration.ofHours(12))).append('\n');
            out.append("  Guest:             ").append(base).append("/guest.html#token=")
                    .append(tokens.mint(demo, Role.GUEST, "Guest Demo", Duration.ofHours(12))).append('\n');
            out.append("(or open ").append(base).append("/ to make new links)\n");
            if (config.admission().waitingRoom()) {
                out.append("The room and the guest wait in the waiting room: admit them with the Admit button on "
                        + "the doctor's page.\n");
            }
        }
        System.out.println(out);
        stopped.await();
    }

    /**
     * Issue #7: where HTTPS is. http://localhost needs no certificate (browsers treat it as a secure context, so
     * the camera works); other machines need https, with the self-signed certificate (a warning to click through,
     * for trying it out) or a real one (consultbridge.http.tls.*, or a reverse proxy).
     */
    private static void httpsNote(StringBuilder out, ServerConfig config, SignalingServer server) {
        server.certificate().ifPresent(cert -> {
            List<String> hosts = new java.util.ArrayList<>(
                    org.consultbridge.bridge.transport.HostCandidates.addresses(config.bridge()));
            hosts.add(0, "localhost");
            out.append("HTTPS (for other machines): ");
            for (int i = 0; i < Math.min(hosts.size(), 3); i++) {
                String h = hosts.get(i).contains(":") ? "[" + hosts.get(i) + "]" : hosts.get(i);
                out.append(i == 0 ? "" : ", ").append("https://").append(h).append(':').append(server.httpsPort())
                        .append('/');
            }
            out.append('\n');
            if (cert.isSelfSigned()) {
                out.append("  self-signed certificate generated at start (SHA-256 ").append(cert.sha256Fingerprint())
                        .append("): browsers warn; a real deployment configures its certificate in ")
                        .append("consultbridge.http.tls (CB_HTTP_TLS_CERT_FILE/CB_HTTP_TLS_KEY_FILE) or a reverse proxy\n");
            }
        });
    }

    /** {@code turn-config [--out FILE]}: coturn's configuration from consultbridge.turn. */
    static int turnConfig(String[] args) throws IOException {
        Path out = null;
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--out") && i + 1 < args.length) {
                out = Path.of(args[++i]);
            } else {
                System.err.println("usage: turn-config [--out FILE]");
                return 2;
            }
        }
        ServerConfig config = ServerConfig.load();
        if (!config.turn().enabled()) {
            System.err.println("TURN is not configured: set consultbridge.turn.host and consultbridge.turn.secrets "
                    + "(CB_TURN_HOST, CB_TURN_SECRETS) first");
            return 2;
        }
        String text = CoturnConfig.render(config.turn());
        if (out == null) {
            System.out.print(text);
            return 0;
        }
        // it holds the shared secrets: owner read/write, group read (coturn's group), nobody else
        Path tmp = Files.createTempFile(out.toAbsolutePath().getParent(), ".turnserver", ".conf");
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r-----"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: permissions are the operator's business
        }
        Files.writeString(tmp, text);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        System.err.println("wrote " + out + " (mode 640: give it to coturn's group, e.g. chgrp turnserver " + out
                + "); restart coturn to apply");
        return 0;
    }

    /** {@code drain [--resume | --status] [--url URL]}: POST/DELETE/GET /admin/drain on the admin port. */
    static int drain(String[] args) throws IOException, InterruptedException {
        ServerConfig config = ServerConfig.load();
        String method = "POST";
        String url = null;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--resume" -> method = "DELETE";
                case "--status" -> method = "GET";
                case "--url" -> url = i + 1 < args.length ? args[++i] : null;
                default -> {
                    System.err.println("usage: drain [--resume | --status] [--url http://127.0.0.1:9180]");
                    return 2;
                }
            }
        }
        if (config.ops().credential().isEmpty()) {
            System.err.println("no ops credential configured (consultbridge.ops.credential, CB_OPS_CREDENTIAL)");
            return 2;
        }
        if (url == null) {
            String host = config.ops().adminHost().equals("0.0.0.0") ? "127.0.0.1" : config.ops().adminHost();
            url = "http://" + host + ":" + config.ops().adminPort();
        }
        java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(url.replaceAll("/+$", "") + "/admin/drain"))
                .header("Authorization", "Bearer " + config.ops().credential())
                .method(method, java.net.http.HttpRequest.BodyPublishers.noBody())
                .timeout(Duration.ofSeconds(10)).build();
        try (java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient()) {
            java.net.http.HttpResponse<String> r = client.send(request,
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            System.out.println(r.body());
            return r.statusCode() == 200 ? 0 : 1;
        }
    }

    private static Duration duration(String text) {
        return com.typesafe.config.ConfigFactory.parseString("d=" + text).getDuration("d");
    }

    static int token(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        ServerConfig config = ServerConfig.load();
        if (config.tokenSecret().isEmpty()) {
            System.err.println("no consultbridge.tokens.secret configured: a token would be useless "
                    + "(set CB_TOKEN_SECRET or use -Dconfig.file; ES256/RS256 tokens come from the scheduling "
                    + "system, which holds the private key)");
            return 2;
        }
        Role role = Role.fromWire(opts.get("role"));
        String consultation = opts.get("consultation");
        if (role == null || consultation == null) {
            System.err.println("need --consultation ID and --role doctor|staff|room|guest");
            return 2;
        }
        String profile = opts.get("profile");
        if (profile != null && !java.util.Set.of("balanced", "motion", "detail").contains(profile)) {
            System.err.println("--profile is balanced, motion (neurology: keep the frame rate) or detail "
                    + "(dermatology: keep the resolution), not \"" + profile + "\"");
            return 2;
        }
        Duration ttl = opts.containsKey("ttl") ? duration(opts.get("ttl")) : Duration.ofHours(2);
        Duration notBefore = opts.containsKey("not-before") ? duration(opts.get("not-before")) : Duration.ZERO;
        TokenService tokens = new TokenService(config.tokenSecret(), config.tokenIssuer(), config.tokenMaxLifetime(),
                config.clockSkew());
        String name = opts.getOrDefault("name", role.wire());
        String participant = opts.getOrDefault("participant",
                role.wire() + "-" + java.util.UUID.randomUUID().toString().substring(0, 8));
        java.time.Instant now = java.time.Instant.now();
        // the same claims as TokenService.mint, with nbf when the token should only work from a later time on
        com.nimbusds.jwt.JWTClaimsSet.Builder claims = new com.nimbusds.jwt.JWTClaimsSet.Builder()
                .subject(participant).issuer(config.tokenIssuer())
                .issueTime(java.util.Date.from(now))
                .notBeforeTime(java.util.Date.from(now.plus(notBefore)))
                .expirationTime(java.util.Date.from(now.plus(notBefore).plus(ttl)))
                .jwtID(java.util.UUID.randomUUID().toString())
                .claim("cid", consultation).claim("role", role.wire()).claim("name", name);
        if (profile != null) {
            claims.claim("profile", profile); // issue #8: the consultation's clinical profile
        }
        System.out.println(tokens.mint(claims.build()));
        return 0;
    }
}
