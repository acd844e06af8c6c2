package org.consultbridge.e2e;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.netem.LinkProfile;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;

/**
 * A doctor in the clinic's namespace on a clean link and a room endpoint in the village's namespace whose media
 * crosses a {@link LinkRelay} shaped by a {@link LinkProfile} (this kernel has no netem), both headless Chromium,
 * the server and bridge in this JVM. Shared by the link-profile acceptance test and the link benchmark.
 */
final class ShapedCall implements AutoCloseable {

    static final String SUB = "window.consultbridge.subscribePc";
    /**
     * What a page receives, cumulative: video frames, height, freezes, NACKs, PLIs, keyframes, lost packets, jitter
     * buffer delay; audio samples and concealment; the page's playout target.
     */
    static final String RECEIVED = """
            return window.consultbridge.subscribePc.getStats().then(s => { const o = {frames: 0, height: 0,
              freeze: 0, freezes: 0, samples: 0, concealed: 0, nacks: 0, plis: 0, dropped: 0, lost: 0, jbDelay: 0,
              jbCount: 0, keyframes: 0, target: window.consultbridge.playoutTargetMs || 0};
              s.forEach(r => { if (r.type !== 'inbound-rtp') return;
                if (r.kind === 'video') { o.frames += r.framesDecoded || 0; o.height = Math.max(o.height, r.frameHeight || 0);
                  o.freeze += r.totalFreezesDuration || 0; o.freezes += r.freezeCount || 0; o.nacks += r.nackCount || 0;
                  o.plis += r.pliCount || 0; o.dropped += r.framesDropped || 0; o.lost += r.packetsLost || 0;
                  o.jbDelay += r.jitterBufferDelay || 0; o.jbCount += r.jitterBufferEmittedCount || 0;
                  o.keyframes += r.keyFramesDecoded || 0; }
                else { o.samples += r.totalSamplesReceived || 0; o.concealed += r.concealedSamples || 0; } });
              return o; });""";

    private static final String SECRET = "links-secret-links-secret-links-secret-123";

    final NetNamespace clinic;
    final NetNamespace village;
    final MediaBridge bridge;
    final LinkRelay relay;
    final SignalingServer server;
    final Browser doctor;
    final Browser room;
    final BridgeEndpoint roomOnBridge;
    final BridgeEndpoint doctorOnBridge;

    private ShapedCall(NetNamespace clinic, NetNamespace village, MediaBridge bridge, LinkRelay relay,
                       SignalingServer server, Browser doctor, Browser room, BridgeEndpoint roomOnBridge,
                       BridgeEndpoint doctorOnBridge) {
        this.clinic = clinic;
        this.village = village;
        this.bridge = bridge;
        this.relay = relay;
        this.server = server;
        this.doctor = doctor;
        this.room = room;
        this.roomOnBridge = roomOnBridge;
        this.doctorOnBridge = doctorOnBridge;
    }

    /** Starts everything and waits until both pages decode video. */
    static ShapedCall start(LinkProfile profile) throws Exception {
        return start(profile, false);
    }

    /**
     * As {@link #start(LinkProfile)}; with {@code signallingThroughLink} the room's page and its WebSocket come
     * through the relay too ({@link LinkRelay#forwardTcp}), sharing the shaped link with its media.
     */
    static ShapedCall start(LinkProfile profile, boolean signallingThroughLink) throws Exception {
        return start(profile, signallingThroughLink, List.of());
    }

    /** As above, with more Chromium flags for the room's browser (e.g. a file for its fake camera). */
    static ShapedCall start(LinkProfile profile, boolean signallingThroughLink, List<String> roomFlags)
            throws Exception {
        NetNamespace.requireAvailable();
        NetNamespace clinic = NetNamespace.create();
        NetNamespace village = null;
        MediaBridge bridge = null;
        LinkRelay relay = null;
        SignalingServer server = null;
        Browser doctor = null;
        Browser room = null;
        try {
            village = NetNamespace.create();
            // The bridge listens on the clinic's side; the candidate it advertises for the village is the relay.
            int port = clinic.allocatePort();
            bridge = MediaBridges.start(new BridgeConfig(clinic.hostAddress(), port,
                    List.of(clinic.hostAddress(), village.hostAddress())));
            relay = new LinkRelay(new InetSocketAddress(village.hostAddress(), port),
                    new InetSocketAddress(clinic.hostAddress(), port), profile);
            // each browser reaches the bridge only through its own candidate
            blockUdpTo(village, clinic.hostAddress());
            blockUdpTo(clinic, village.hostAddress());
            TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
            server = SignalingServer.start(ServerConfig.load().withHttp("0.0.0.0", 0), tokens, bridge);
            String clinicOrigin = "http://" + clinic.hostAddress() + ":" + server.port();
            String villageOrigin = "http://" + village.hostAddress() + ":" + (signallingThroughLink
                    ? relay.forwardTcp(new InetSocketAddress(village.hostAddress(), 0),
                            new InetSocketAddress("127.0.0.1", server.port()))
                    : server.port());
            doctor = Browser.start(clinic, clinicOrigin);
            room = Browser.start(village, List.of(villageOrigin), roomFlags);
            doctor.open(clinicOrigin + "/doctor.html#token="
                    + tokens.mint("c-links", "dr-l", Role.DOCTOR, "Dr. L", Duration.ofHours(1)));
            Admission.autoAdmit(doctor);
            room.open(villageOrigin + "/room.html#token="
                    + tokens.mint("c-links", "room-l", Role.ROOM, "Raum L", Duration.ofHours(1)));
            // on a link too thin for the lowest video layer (edge) video to the room is suspended: audio is enough
            boolean videoFits = profile.rateKbps() == 0 || profile.rateKbps() >= 300;
            for (Browser b : List.of(doctor, room)) {
                b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", Duration.ofSeconds(45));
                String what = videoFits ? "r.kind === 'video' && r.framesDecoded > 30"
                        : "r.kind === 'audio' && r.totalSamplesReceived > 48000";
                b.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => rs.filter(r => "
                        + what + ").length >= 1)", Duration.ofSeconds(60));
            }
            return new ShapedCall(clinic, village, bridge, relay, server, doctor, room,
                    bridge.endpoint("c-links", "room-l").orElseThrow(),
                    bridge.endpoint("c-links", "dr-l").orElseThrow());
        } catch (Exception | Error e) {
            closeAll(room, doctor, server, relay, bridge == null ? null : bridge::close, village, clinic);
            throw e;
        }
    }

    /** The highest simulcast layer (0 = q, 1 = h, 2 = f) the doctor's browser is sending right now. */
    int topLayerSentByDoctor() {
        Object r = doctor.execute("return window.consultbridge.publishPc.getStats().then(s => { let top = -1;"
                + " s.forEach(x => { if (x.type === 'outbound-rtp' && x.kind === 'video' && x.active !== false"
                + " && (x.framesPerSecond || 0) > 0) top = Math.max(top, ['q','h','f'].indexOf(x.rid)); });"
                + " return top; })");
        return ((Number) r).intValue();
    }

    static Map<?, ?> received(Browser b) {
        return (Map<?, ?>) b.execute(RECEIVED);
    }

    /** Audio concealment between two {@link #RECEIVED} samples. */
    static double concealment(Map<?, ?> before, Map<?, ?> after) {
        return (num(after, "concealed") - num(before, "concealed"))
                / Math.max(1, num(after, "samples") - num(before, "samples"));
    }

    static double num(Map<?, ?> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }

    private static void blockUdpTo(NetNamespace ns, String address) {
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "table", "inet", "only");
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "chain", "inet", "only", "output",
                "{ type filter hook output priority 0 ; }");
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "rule", "inet", "only", "output",
                "ip", "daddr", address, "meta", "l4proto", "udp", "drop");
    }

    private static void closeAll(AutoCloseable... all) throws Exception {
        Exception first = null;
        for (AutoCloseable c : all) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public void close() throws Exception {
        closeAll(room, doctor, server, relay, bridge::close, village, clinic);
    }
}
