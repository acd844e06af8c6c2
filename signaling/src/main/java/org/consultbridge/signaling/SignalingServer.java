package org.consultbridge.signaling;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.http.WebHandler;
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

    private SignalingServer(Server server, ServerConnector connector, ConsultationRegistry registry,
                            TokenService tokens, MediaBridge bridge, QualityReporter quality, TurnProbe turnProbe) {
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
        SignalingContext ctx = new SignalingContext(tokens, registry, bridge, json, config.turn());
        TurnProbe probe = config.turn().enabled() ? new TurnProbe(config.turn()).start() : null;

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
        try {
            server.start();
        } catch (Exception e) {
            if (probe != null) {
                probe.close();
            }
            throw e;
        }
        QualityReporter quality = new QualityReporter(registry, json);
        return new SignalingServer(server, connector, registry, tokens, bridge, quality, probe);
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
    }
}
