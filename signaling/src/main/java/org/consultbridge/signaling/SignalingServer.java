package org.consultbridge.signaling;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Clock;
import java.time.Duration;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.http.WebHandler;
import org.consultbridge.signaling.limits.OriginPolicy;
import org.consultbridge.signaling.limits.SignalingGuard;
import org.consultbridge.signaling.clinical.E2eeRelay;
import org.consultbridge.signaling.clinical.ProfileControl;
import org.consultbridge.signaling.ops.AdminHandler;
import org.consultbridge.signaling.ops.OpsMonitor;
import org.consultbridge.signaling.token.TokenService;
import org.consultbridge.signaling.ws.QualityReporter;
import org.consultbridge.signaling.turn.TurnProbe;
import org.consultbridge.signaling.ws.SignalingContext;
import org.consultbridge.signaling.ws.SignalingSocket;
import org.consultbridge.signaling.audit.AuditLog;
import org.consultbridge.signaling.tls.HttpsConnector;
import org.consultbridge.signaling.tls.ServerCertificate;
import org.consultbridge.signaling.ws.WaitingRoom;
import org.consultbridge.bridge.transport.HostCandidates;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/** The assembled server: Jetty with the WebSocket signalling at /ws and the web pages, in front of a bridge. */
public final class SignalingServer implements AutoCloseable {

    private final Server server;
    private final ServerConnector connector;
    private final ConsultationRegistry registry;
    private final TokenService tokens;
    private final MediaBridge bridge;
    private final QualityReporter quality;
    private final TurnProbe turnProbe;
    private final OpsMonitor ops;
    private final Server admin;
    private final ServerConnector adminConnector;
    private final String opsCredential;
    private final boolean opsCredentialGenerated;
    private final WaitingRoom waitingRoom;
    /** Issue #7: HTTPS connector and its certificate (null when off), the limits in front of every socket. */
    private ServerConnector httpsConnector;
    private ServerCertificate certificate;
    private SignalingGuard guard;

    private SignalingServer(Server server, ServerConnector connector, ConsultationRegistry registry,
                            TokenService tokens, MediaBridge bridge, QualityReporter quality, TurnProbe turnProbe,
                            OpsMonitor ops, Server admin, ServerConnector adminConnector, String opsCredential,
                            boolean opsCredentialGenerated, WaitingRoom waitingRoom) {
        this.waitingRoom = waitingRoom;
        this.ops = ops;
        this.admin = admin;
        this.adminConnector = adminConnector;
        this.opsCredential = opsCredential;
        this.opsCredentialGenerated = opsCredentialGenerated;
        this.quality = quality;
        this.server = server;
        this.connector = connector;
        this.registry = registry;
        this.tokens = tokens;
        this.bridge = bridge;
        this.turnProbe = turnProbe;
    }

    public static SignalingServer start(ServerConfig config, TokenService tokens, MediaBridge bridge)
            throws Exception {
        ObjectMapper json = new ObjectMapper();
        ConsultationRegistry registry = new ConsultationRegistry(config.maxParticipants());
        TurnProbe probe = config.turn().enabled() ? new TurnProbe(config.turn()).start() : null;
        OpsMonitor ops = new OpsMonitor(registry, bridge, config.ops(), json, probe);
        WaitingRoom waitingRoom = new WaitingRoom(registry, bridge, json, config.admission(),
                AuditLog.open(config.admission().audit(), Clock.systemUTC()), config.clockSkew(),
                config.tokenMaxLifetime(), Clock.systemUTC());
        SignalingContext ctx = new SignalingContext(tokens, registry, bridge, json, config.turn(), ops, waitingRoom,
                new E2eeRelay(json, config.clinical()), new ProfileControl(json, config.clinical()));
        boolean generated = config.ops().credential().isEmpty();
        String credential = generated ? randomCredential() : config.ops().credential();

        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("http");
        Server server = new Server(threads);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(config.httpHost());
        connector.setPort(config.httpPort());
        server.addConnector(connector);
        ServerCertificate certificate = null;
        ServerConnector https = null;
        if (config.hostile().tls().enabled()) {
            certificate = ServerCertificate.load(config.hostile().tls(), certificateNames(config));
            https = HttpsConnector.create(server, config.httpHost(), config.hostile().tls().port(), certificate);
            server.addConnector(https);
        }
        // every connection on the public port(s) counts; above the cap Jetty stops accepting until some close
        server.addBean(new NetworkConnectionLimit(config.hostile().limits().maxConnections(), server));
        SignalingGuard guard = new SignalingGuard(config.hostile().limits(),
                new OriginPolicy(config.hostile().limits().allowedOrigins(), config.publicUrl()),
                ops.metrics().registry());

        WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, container -> {
            container.setMaxTextMessageSize(config.maxMessageBytes());
            container.setMaxBinaryMessageSize(1024);
            container.setIdleTimeout(Duration.ofSeconds(60));
            container.addMapping("/ws", (request, response, callback) -> {
                SignalingGuard.Admission admission = guard.admit(request);
                if (!admission.admitted()) { // RFC 6455 §4.2.2: refuse the upgrade with an HTTP status
                    Response.writeError(request, response, callback, admission.status(), admission.reason());
                    return null;
                }
                return new SignalingSocket(ctx, admission.connection());
            });
        });
        ws.setHandler(new WebHandler(tokens, config.demoMode(), json, probe));
        server.setHandler(ws);
        // the admin port: a server of its own (own threads, own address), so that monitoring never competes
        // with patients' connections and is never exposed where the web pages are
        QueuedThreadPool adminThreads = new QueuedThreadPool(8, 2);
        adminThreads.setName("admin");
        Server admin = new Server(adminThreads);
        ServerConnector adminConnector = new ServerConnector(admin, 1, 1);
        adminConnector.setHost(config.ops().adminHost());
        adminConnector.setPort(config.ops().adminPort());
        admin.addConnector(adminConnector);
        admin.setHandler(new AdminHandler(ops, json, credential));
        try {
            server.start();
            admin.start();
        } catch (Exception e) {
            if (probe != null) {
                probe.close();
            }
            ops.close();
            guard.close();
            waitingRoom.close();
            server.stop();
            admin.stop();
            throw e;
        }
        QualityReporter quality = new QualityReporter(registry, json);
        SignalingServer s = new SignalingServer(server, connector, registry, tokens, bridge, quality, probe, ops,
                admin, adminConnector, credential, generated, waitingRoom);
        s.httpsConnector = https;
        s.certificate = certificate;
        s.guard = guard;
        return s;
    }

    /** What a self-signed certificate must name: the bridge's addresses and the host of public-url. */
    private static java.util.List<String> certificateNames(ServerConfig config) {
        java.util.List<String> names = new java.util.ArrayList<>(HostCandidates.addresses(config.bridge()));
        if (!config.publicUrl().isBlank()) {
            String host = java.net.URI.create(config.publicUrl()).getHost();
            if (host != null) {
                names.add(host.replaceAll("^\\[|\\]$", ""));
            }
        }
        return names;
    }

    /** The HTTPS port, or -1 when HTTPS is off. */
    public int httpsPort() {
        return httpsConnector == null ? -1 : httpsConnector.getLocalPort();
    }

    /** The HTTPS certificate (configured or self-signed at start), empty when HTTPS is off. */
    public java.util.Optional<ServerCertificate> certificate() {
        return java.util.Optional.ofNullable(certificate);
    }

    /** The limits against hostile input (their counters, for tests). */
    public SignalingGuard guard() {
        return guard;
    }

    private static String randomCredential() {
        byte[] b = new byte[18];
        new java.security.SecureRandom().nextBytes(b);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** The admin port (metrics, health, ops dashboard, drain). */
    public int adminPort() {
        return adminConnector.getLocalPort();
    }

    public OpsMonitor ops() {
        return ops;
    }

    /** The ops credential in force (configured, or generated at start when none was configured). */
    public String opsCredential() {
        return opsCredential;
    }

    public boolean opsCredentialGenerated() {
        return opsCredentialGenerated;
    }

    public int port() {
        return connector.getLocalPort();
    }

    public ConsultationRegistry registry() {
        return registry;
    }

    public TokenService tokens() {
        return tokens;
    }

    public MediaBridge bridge() {
        return bridge;
    }

    /** The TURN probe, when TURN is configured. */
    public java.util.Optional<TurnProbe> turnProbe() {
        return java.util.Optional.ofNullable(turnProbe);
    }

    @Override
    public void close() throws Exception {
        quality.close();
        if (turnProbe != null) {
            turnProbe.close();
        }
        server.stop();
        admin.stop();
        guard.close();
        ops.close();
        waitingRoom.close();
    }

    /** Admission, removal, ending, one-time tokens and the audit log. */
    public WaitingRoom waitingRoom() {
        return waitingRoom;
    }
}
