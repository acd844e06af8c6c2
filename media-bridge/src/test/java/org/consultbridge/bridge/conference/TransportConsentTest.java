package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.dtls.DtlsRole;
import org.consultbridge.bridge.dtls.SrtpKeys;
import org.consultbridge.bridge.dtls.SrtpProfile;
import org.consultbridge.bridge.srtp.SrtpTransformer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ICE consent freshness (RFC 7675 §5.1) of one {@link Transport}, driven with a clock the test moves: which checks
 * keep the selected pair's consent, when it expires, what the bridge then stops sending and counts, and how it
 * heals. Everything runs on the bridge's loop ({@link SfuBridge#onLoop}); the test's times lie ahead of the real
 * clock, so the bridge's own once-a-second check never expires anything here.
 */
class TransportConsentTest {

    private static final long S = TimeUnit.SECONDS.toNanos(1);
    private static final InetSocketAddress A = new InetSocketAddress("192.0.2.1", 50000);
    private static final InetSocketAddress B = new InetSocketAddress("192.0.2.2", 50001);

    private SfuBridge bridge;
    private Endpoint endpoint;
    private Transport t;
    private long t0;
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        bridge = SfuBridge.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        endpoint = (Endpoint) bridge.createEndpoint("c-consent", "p", new EndpointListener() {
            @Override
            public void subscribeRenegotiationNeeded() {
            }

            @Override
            public void transportStateChanged(TransportDirection direction, TransportState state) {
                events.add(direction + " " + state);
            }

            @Override
            public void consentChanged(TransportDirection direction, boolean fresh) {
                events.add(direction + " consent " + (fresh ? "fresh" : "expired"));
            }
        });
        t = endpoint.publish;
        t0 = System.nanoTime() + 60 * S;
    }

    @AfterEach
    void stop() {
        bridge.close();
    }

    private void check(InetSocketAddress from, boolean useCandidate, long at) {
        bridge.onLoop(() -> {
            t.onValidCheck(from, null, useCandidate, at, true);
            return null;
        });
    }

    private void tick(long at) {
        bridge.onLoop(() -> {
            endpoint.checkConsent(at);
            return null;
        });
    }

    private TransportState state() {
        return bridge.onLoop(() -> t.state);
    }

    private long consentDrops() {
        return bridge.stats().droppedByReason().get("consent-expired");
    }

    /** Keys the transport as the DTLS handshake would (the handshake itself is tested elsewhere). */
    private void keyed() {
        SecureRandom r = new SecureRandom();
        SrtpProfile p = SrtpProfile.AEAD_AES_128_GCM;
        byte[] ck = new byte[p.keyLength()];
        byte[] sk = new byte[p.keyLength()];
        byte[] cs = new byte[p.saltLength()];
        byte[] ss = new byte[p.saltLength()];
        r.nextBytes(ck);
        r.nextBytes(sk);
        r.nextBytes(cs);
        r.nextBytes(ss);
        SrtpTransformer srtp = SrtpTransformer.create(new SrtpKeys(p, ck, cs, sk, ss), DtlsRole.SERVER);
        bridge.onLoop(() -> {
            t.srtp = srtp;
            t.state = TransportState.CONNECTED;
            return null;
        });
    }

    @Test
    void consentExpiresThirtySecondsAfterTheLastCheckOnTheSelectedPairAndHealsWhenItsChecksReturn() {
        check(A, true, t0);
        keyed();
        for (int i = 1; i <= 12; i++) { // a browser's check every 5 s for a minute
            check(A, true, t0 + 5 * i * S);
            tick(t0 + 5 * i * S + 4 * S);
        }
        assertThat(state()).isEqualTo(TransportState.CONNECTED);
        long last = t0 + 60 * S;
        // the browser's checks stop; a backup pair keeps being checked, which is not consent for the selected one
        check(B, false, last + 10 * S);
        check(B, false, last + 20 * S);
        tick(last + 30 * S);
        assertThat(state()).as("at 30 s consent still holds").isEqualTo(TransportState.CONNECTED);
        assertThat(bridge.onLoop(() -> t.canSend())).isTrue();
        tick(last + 30 * S + 1_000_000);
        assertThat(state()).as("just after 30 s").isEqualTo(TransportState.FAILED);
        assertThat(events).containsSubsequence("PUBLISH consent expired", "PUBLISH FAILED");
        assertThat(bridge.onLoop(() -> t.consentExpired())).isTrue();
        assertThat(bridge.onLoop(() -> t.sendAddress())).as("no address to send to").isNull();
        assertThat(bridge.qualitySnapshot().iceFailures()).as("reported to ops as an ICE failure").isEqualTo(1);

        long dropsBefore = consentDrops();
        for (int i = 0; i < 5; i++) {
            assertThat(bridge.onLoop(() -> t.canSend())).isFalse();
        }
        assertThat(consentDrops() - dropsBefore).as("every packet held back is counted").isEqualTo(5);

        check(B, false, last + 35 * S);
        assertThat(state()).as("a check on another pair does not heal the selected one").isEqualTo(TransportState.FAILED);
        check(A, true, last + 36 * S);
        assertThat(state()).isEqualTo(TransportState.CONNECTED);
        assertThat(events).containsSubsequence("PUBLISH consent expired", "PUBLISH FAILED",
                "PUBLISH consent fresh", "PUBLISH CONNECTED");
        assertThat(bridge.onLoop(() -> t.sendAddress())).isEqualTo(A);
        long dropsAfter = consentDrops();
        assertThat(bridge.onLoop(() -> t.canSend())).isTrue();
        assertThat(consentDrops()).as("nothing counted once consent is back").isEqualTo(dropsAfter);
        tick(last + 66 * S);
        assertThat(state()).as("30 s after the healing check").isEqualTo(TransportState.CONNECTED);
        tick(last + 66 * S + 1_000_000);
        assertThat(state()).as("expires again without checks").isEqualTo(TransportState.FAILED);
        assertThat(bridge.qualitySnapshot().iceFailures()).isEqualTo(2);
    }

    @Test
    void aNewlyNominatedPairCarriesItsOwnConsent() {
        check(A, true, t0);
        keyed();
        check(B, true, t0 + 25 * S); // the browser nominates another pair (network change): media goes there
        assertThat(bridge.onLoop(() -> t.sendAddress())).isEqualTo(B);
        tick(t0 + 31 * S);
        assertThat(state()).as("B's check is B's consent").isEqualTo(TransportState.CONNECTED);
        check(A, false, t0 + 50 * S); // the old pair, still answered, is no consent for B
        tick(t0 + 55 * S + 1_000_000);
        assertThat(state()).isEqualTo(TransportState.FAILED);
        check(A, false, t0 + 56 * S);
        assertThat(state()).as("a plain check on the old pair selects nothing after nomination")
                .isEqualTo(TransportState.FAILED);
        check(A, true, t0 + 57 * S);
        assertThat(state()).as("nominating A again gives A consent").isEqualTo(TransportState.CONNECTED);
        assertThat(bridge.onLoop(() -> t.sendAddress())).isEqualTo(A);
    }

    @Test
    void beforeKeysConsentExpiryWaitsForTheChecksAndThenForTheKeys() {
        check(A, false, t0);
        assertThat(state()).isEqualTo(TransportState.CONNECTING);
        tick(t0 + 31 * S);
        assertThat(state()).as("DTLS never got going and the checks stopped").isEqualTo(TransportState.FAILED);
        long drops = consentDrops();
        assertThat(bridge.onLoop(() -> t.canSend())).isFalse();
        assertThat(consentDrops()).as("without keys nothing would have left: not counted").isEqualTo(drops);
        check(A, false, t0 + 40 * S);
        assertThat(state()).as("checks back, still no keys").isEqualTo(TransportState.CONNECTING);
        assertThat(events).containsSubsequence("PUBLISH CONNECTING", "PUBLISH consent expired", "PUBLISH FAILED",
                "PUBLISH consent fresh", "PUBLISH CONNECTING");
    }

    @Test
    void aTransportThatNeverPassedACheckHasNoConsentToLose() {
        tick(t0 + 1000 * S);
        assertThat(state()).isEqualTo(TransportState.NEW);
        assertThat(bridge.onLoop(() -> t.canSend())).isFalse();
        assertThat(consentDrops()).isZero();
        assertThat(events).isEmpty();
    }
}
