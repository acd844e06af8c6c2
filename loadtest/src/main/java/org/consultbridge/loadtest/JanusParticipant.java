package org.consultbridge.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.consultbridge.bridge.sdp.ClientSdp;

/**
 * A participant of a consultation held in a Janus VideoRoom instead of ConsultBridge: the same media, the same
 * measurements (the media side is a {@link SimParticipant} whose own signalling stays unused), but Janus's API over
 * its WebSocket transport: a session, a publisher handle that creates the consultation's room (or finds it
 * created), joins it with our publish offer and takes Janus's answer, and a subscriber handle that subscribes to the
 * other participants' feeds once they publish and answers Janus's offer. Janus runs full ICE, so our SDP carries
 * our host candidate, and our peers answer Janus's connectivity checks.
 */
final class JanusParticipant implements Participant {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);
    /** Janus ends sessions silent for session_timeout (60 s); janus.js sends keepalives every 25 s, we every 15 s. */
    private static final ScheduledExecutorService KEEPALIVE = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "janus-keepalive");
        t.setDaemon(true);
        return t;
    });
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final AtomicLong TRANSACTIONS = new AtomicLong();

    private final String participantId;
    private final URI uri;
    private final long room;
    private final long feedId;
    private final int otherPublishers;
    private final SimParticipant media;
    private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final Set<Long> otherFeeds = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Void> othersPublished = new CompletableFuture<>();
    private volatile WebSocket socket;
    private volatile long session;
    private ScheduledFuture<?> keepAlive;
    private volatile boolean closed;

    JanusParticipant(String consultationId, String participantId, String role, URI uri, Impairment impairment,
                     Participant.Context c) {
        this.participantId = participantId;
        this.uri = uri;
        this.room = roomId(consultationId);
        this.feedId = switch (role) {
            case "doctor" -> 1;
            case "room" -> 2;
            default -> 3;
        };
        this.otherPublishers = c.participantsPerConsultation() - 1;
        this.media = new SimParticipant(participantId, null, null, c.group(), c.bind(), c.certificate(), c.metrics(),
                impairment, c.videoKbps());
    }

    /** Participants of Janus at {@code uri} (its WebSocket API). */
    static Participant.Factory factory(URI uri) {
        return (cid, pid, role, impairment, c) -> new JanusParticipant(cid, pid, role, uri, impairment, c);
    }

    /** One VideoRoom per consultation; both participants derive the same id (JSON-safe: below 2^53). */
    static long roomId(String consultationId) {
        return 1_000_000L + (consultationId.hashCode() & 0x7FFF_FFFFL);
    }

    @Override
    public String id() {
        return participantId;
    }

    @Override
    public boolean joined() {
        return media.joined();
    }

    @Override
    public boolean publishing() {
        return media.publishing();
    }

    @Override
    public int tag() {
        return media.tag();
    }

    @Override
    public int heardFrom(int senderTag) {
        return media.heardFrom(senderTag);
    }

    @Override
    public String refusal() {
        return media.refusal();
    }

    @Override
    public String dropped() {
        return media.dropped();
    }

    /** Janus answered a request with an error: the server turned us away (reported as a refusal, with its code). */
    static final class JanusRefusal extends IllegalStateException {
        JanusRefusal(String why) {
            super(why);
        }
    }

    @Override
    public void start() {
        media.markJoinStart();
        Thread.ofVirtual().name("janus-" + participantId).start(() -> {
            try {
                join();
            } catch (JanusRefusal e) {
                if (!closed) {
                    media.refuse(e.getMessage());
                }
            } catch (Exception e) {
                if (!closed) {
                    media.fail("janus: " + (e instanceof java.util.concurrent.TimeoutException
                            ? "no reply or no other publisher within the timeout" : e.toString()));
                }
            }
        });
    }

    private void join() throws Exception {
        socket = HTTP.newWebSocketBuilder().subprotocols("janus-protocol").connectTimeout(Duration.ofSeconds(10))
                .buildAsync(uri, new Listener()).get(10, TimeUnit.SECONDS);
        session = request(janus("create")).path("data").path("id").asLong();
        keepAlive = KEEPALIVE.scheduleAtFixedRate(() -> send(janus("keepalive").put("session_id", session)),
                15, 15, TimeUnit.SECONDS);

        // publisher: create the room (427: the other participant was first), join with our offer
        long pubHandle = attach();
        JsonNode created = plugin(pubHandle, JSON.createObjectNode().put("request", "create").put("room", room)
                .put("publishers", 3).put("videocodec", "vp8").put("audiocodec", "opus")
                .put("bitrate", 10_000_000).put("description", "loadtest"), null);
        int createError = created.path("plugindata").path("data").path("error_code").asInt(0);
        if (createError != 0 && createError != 427) {
            throw new JanusRefusal("janus " + createError + " "
                    + created.path("plugindata").path("data").path("error").asText());
        }
        MediaPeer pub = media.newPublishPeer();
        String offer = withCandidate(media.publishOffer(pub.transport()), pub.localAddress());
        JsonNode joined = pluginOk(pubHandle, JSON.createObjectNode().put("request", "joinandconfigure")
                .put("ptype", "publisher").put("room", room).put("id", feedId).put("display", participantId), offer);
        pub.setRemoteDescription(joined.path("jsep").path("sdp").asText());
        media.publishAnswered(joined.path("jsep").path("sdp").asText());
        media.connectPublish();

        // subscriber: once the others publish, one subscription to all their feeds; Janus offers, we answer
        othersPublished.get(30, TimeUnit.SECONDS);
        long subHandle = attach();
        ObjectNode join = JSON.createObjectNode().put("request", "join").put("ptype", "subscriber").put("room", room);
        ArrayNode streams = join.putArray("streams");
        List<Long> feeds = new ArrayList<>(otherFeeds);
        feeds.subList(otherPublishers, feeds.size()).clear();
        feeds.forEach(f -> streams.addObject().put("feed", f));
        JsonNode attached = pluginOk(subHandle, join, null);
        String subOffer = attached.path("jsep").path("sdp").asText();
        MediaPeer sub = media.newSubscribePeer();
        media.subscribeOffered(subOffer);
        sub.setRemoteDescription(subOffer);
        sub.setIceControlled(); // Janus offered: it is the controlling agent (RFC 8445 §6.1.1)
        String answer = withCandidate(ClientSdp.subscribeAnswer(sub.transport(), subOffer), sub.localAddress());
        CompletableFuture<JsonNode> started = send(plugin("message", subHandle, JSON.createObjectNode().put("request", "start"),
                answer, "answer"));
        media.connectSubscribe();
        checkPluginOk(started.get(REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
    }

    /**
     * Our single host candidate (RFC 8839 §5.1) in every active m-line, and end-of-candidates: without trickle,
     * Janus has everything it needs to check us.
     */
    static String withCandidate(String sdp, InetSocketAddress local) {
        String line = "a=candidate:1 1 udp 2130706431 " + local.getAddress().getHostAddress() + " " + local.getPort()
                + " typ host\r\na=end-of-candidates\r\n";
        StringBuilder sb = new StringBuilder();
        for (String l : sdp.split("\r\n")) {
            sb.append(l).append("\r\n");
            if (l.startsWith("a=ice-pwd:")) {
                sb.append(line);
            }
        }
        return sb.toString();
    }

    private long attach() throws Exception {
        return request(janus("attach").put("session_id", session).put("plugin", "janus.plugin.videoroom"))
                .path("data").path("id").asLong();
    }

    private JsonNode plugin(long handle, ObjectNode body, String offerSdp) throws Exception {
        return send(plugin("message", handle, body, offerSdp, "offer")).get(REQUEST_TIMEOUT.toSeconds(),
                TimeUnit.SECONDS);
    }

    private JsonNode pluginOk(long handle, ObjectNode body, String offerSdp) throws Exception {
        return checkPluginOk(plugin(handle, body, offerSdp));
    }

    private JsonNode checkPluginOk(JsonNode reply) {
        JsonNode data = reply.path("plugindata").path("data");
        if (data.has("error_code") || reply.path("janus").asText().equals("error")) {
            throw new JanusRefusal(data.has("error_code")
                    ? "janus " + data.path("error_code").asInt() + " " + data.path("error").asText()
                    : "janus " + reply.path("error").path("code").asInt() + " " + reply.path("error").path("reason").asText());
        }
        return reply;
    }

    private ObjectNode plugin(String janus, long handle, ObjectNode body, String sdp, String type) {
        ObjectNode m = janus(janus).put("session_id", session).put("handle_id", handle);
        m.set("body", body);
        if (sdp != null) {
            ObjectNode jsep = m.putObject("jsep").put("type", type).put("sdp", sdp);
            if (sdp.contains("a=simulcast:send")) {
                jsep.put("rid_order", "lmh"); // our rids go lowest first, Janus assumes highest first unless told
            }
        }
        return m;
    }

    private static ObjectNode janus(String what) {
        return JSON.createObjectNode().put("janus", what).put("transaction", "t" + TRANSACTIONS.incrementAndGet());
    }

    /** A request answered by "success" (core requests); "error" fails it. */
    private JsonNode request(ObjectNode m) throws Exception {
        JsonNode r = send(m).get(REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (!r.path("janus").asText().equals("success")) {
            throw new JanusRefusal("janus " + r.path("error").path("code").asInt() + " "
                    + r.path("error").path("reason").asText());
        }
        return r;
    }

    /** Sends, and returns the reply to its transaction: "success", "error", or the plugin's "event" after "ack". */
    private CompletableFuture<JsonNode> send(ObjectNode m) {
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        if (!m.path("janus").asText().equals("keepalive")) {
            pending.put(m.path("transaction").asText(), reply);
        }
        WebSocket s = socket;
        if (s != null && !closed) {
            synchronized (this) {
                s.sendText(m.toString(), true).join();
            }
        }
        return reply;
    }

    private void onMessage(JsonNode m) {
        String type = m.path("janus").asText();
        switch (type) {
            case "success", "error", "event" -> {
                notePublishers(m.path("plugindata").path("data").path("publishers"));
                CompletableFuture<JsonNode> f = pending.remove(m.path("transaction").asText());
                if (f != null) {
                    f.complete(m);
                }
            }
            case "hangup", "timeout", "detached" -> {
                if (!closed) {
                    media.drop("janus " + type + (m.has("reason") ? " " + m.path("reason").asText() : ""));
                }
            }
            default -> {
                // ack, webrtcup, media, slowlink, keepalive replies
            }
        }
    }

    /** Other participants' feeds, from the joined event or later "publishers" events. */
    private void notePublishers(JsonNode list) {
        for (JsonNode p : list) {
            long id = p.path("id").asLong();
            if (id != feedId && id != 0) {
                otherFeeds.add(id);
            }
        }
        if (otherFeeds.size() >= otherPublishers) {
            othersPublished.complete(null);
        }
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                try {
                    onMessage(JSON.readTree(text));
                } catch (Exception e) {
                    media.fail("janus message failed: " + e);
                }
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            if (!closed) {
                if (media.joined()) {
                    media.drop("close " + statusCode + " " + reason);
                } else {
                    media.refuse("close " + statusCode + " " + reason);
                }
            }
            return null;
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        WebSocket s = socket;
        if (s != null && session != 0) {
            try {
                // destroying the session hangs up both handles and leaves the room
                synchronized (this) {
                    s.sendText(janus("destroy").put("session_id", session).toString(), true).get(2, TimeUnit.SECONDS);
                }
            } catch (Exception ignored) {
                // Janus may be gone already
            }
        }
        closed = true;
        if (keepAlive != null) {
            keepAlive.cancel(false);
        }
        othersPublished.cancel(false);
        if (s != null) {
            s.sendClose(WebSocket.NORMAL_CLOSURE, "done");
        }
        media.close();
    }
}
