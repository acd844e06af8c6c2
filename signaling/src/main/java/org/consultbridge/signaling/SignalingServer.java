package org.consultbridge.signaling;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.http.WebHandler;
import org.consultbridge.signaling.ops.AdminHandler;
import org.consultbridge.signaling.ops.OpsMonitor;
import org.consultbridge.signaling.token.TokenService;
import org.consultbridge.signaling.ws.QualityReporter;
import org.consultbridge.signaling.turn.TurnProbe;
import org.consultbridge.signaling.ws.SignalingContext;
import org.consultbridge.signaling.ws.SignalingSocket;
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

    private SignalingServer(Server server, ServerConnector connector, ConsultationRegistry registry,
                            TokenService tokens, MediaBridge bridge, QualityReporter quality, TurnProbe turnProbe,
                            OpsMonitor ops, Server admin, ServerConnector adminConnector, String opsCredential,
                            boolean opsCredentialGenerated) {
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
        SignalingContext ctx = new SignalingContext(tokens, registry, bridge, json, config.turn(), ops);
        boolean generated = config.ops().credential().isEmpty();
        String credential = generated ? randomCredential() : config.ops().credential();

        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("http");
        Server server = new Server(threads);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(config.httpHost());
        connector.setPort(config.httpPort());
        server.addConnector(connector);

        WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, container -> {
            container.setMaxTextMessageSize(config.maxMessageBytes());
            container.setMaxBinaryMessageSize(1024);
            container.setIdleTimeout(Duration.ofSeconds(60));
            container.addMapping("/ws", (request, response, callback) -> new SignalingSocket(ctx));
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
            server.stop();
            admin.stop();
            throw e;
        }
        QualityReporter quality = new QualityReporter(registry, json);
        return new SignalingServer(server, connector, registry, tokens, bridge, quality, probe, ops, admin,
                adminConnector, credential, generated);
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
        ops.close();
    }
}
