package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link Allocator}'s choices for one receiver (the doctor) from measured layer rates and a downlink budget:
 * audio first, the main source's video at the highest layer that fits, the others at their lowest layer and then
 * upgraded in order, 10 % headroom on an upgrade at the layer's peak rate (its highest 2 s average of the last
 * 10 s), suspension (once the lowest layer has not fitted for {@link Allocator#SUSPEND_AFTER_NANOS}) and
 * resumption told once per change, the receiver's layer cap, no suspension without simulcast,
 * and layers that stopped flowing skipped. Rates are fed to the streams with the test's own clock.
 */
class AllocatorTest {

    private static final long T0 = 1_000_000_000_000L;
    private static final long SECOND = 1_000_000_000L;
    /** Layer rates (multiples of 800 bit/s: one "packet" every 10 ms carries a whole number of bytes). */
    private static final long LOW = 160_000;
    private static final long MID = 480_000;
    private static final long HIGH = 1_600_000;
    private static final long AUDIO = 40_000;
    private static final String MAIN = "room";

    private static ConferenceFixture fixture;
    private static Endpoint room;
    private static Endpoint guest;
    private static Endpoint interpreter;
    private static Endpoint doctor;

    private final List<String> told = new ArrayList<>();
    private final Allocator.SuspensionListener listener =
            (c, suspended) -> told.add(c.producer.owner.id() + (suspended ? ":off" : ":on"));
    private long now;

    @BeforeAll
    static void startBridge() {
        fixture = new ConferenceFixture();
        room = fixture.endpoint("room");
        guest = fixture.endpoint("guest");
        interpreter = fixture.endpoint("interpreter");
        doctor = fixture.endpoint("doctor");
    }

    @AfterAll
    static void stopBridge() {
        fixture.close();
    }

    @BeforeEach
    void clock() {
        now = T0 + 10 * SECOND;
    }

    // ---------------------------------------------------------------- sources

    /** Packets every 10 ms on {@code s} at {@code bps} over [from, to). */
    private static void flow(InboundStream s, long bps, long from, long to) {
        for (long t = from; t < to; t += 10_000_000L) {
            s.onPacket((int) (bps / 800), true, t);
        }
    }

    /** A simulcast camera of {@code owner} whose three layers have flowed steadily for the last 10 s. */
    private Consumer camera(Endpoint owner, long ssrc) {
        Producer p = fixture.simulcastVp8(owner, "q", "h", "f");
        long[] rates = {LOW, MID, HIGH};
        for (int l = 0; l < 3; l++) {
            flow(p.streams[l], rates[l], T0, now);
        }
        return ConferenceFixture.consumer(p, doctor, ssrc);
    }

    private Consumer microphone(Endpoint owner, long ssrc) {
        Producer p = fixture.opus(owner);
        flow(p.streams[0], AUDIO, T0, now);
        return ConferenceFixture.consumer(p, doctor, ssrc);
    }

    private long allocate(List<Consumer> consumers, long availableBps) {
        return Allocator.allocate(consumers, MAIN, availableBps, now, listener);
    }

    private static long plis(Consumer c, int layer) {
        return c.producer.streams[layer].keyframeRequestsSent;
    }

    /** The bit rate an upgrade to a layer flowing steadily at {@code bps} must fit. */
    private static long withHeadroom(long bps) {
        return bps * 110 / 100;
    }

    // ---------------------------------------------------------------- tests

    @Test
    void theMeasuredRatesAreWhatTheTestFeeds() {
        Consumer video = camera(room, 1);
        assertThat(video.producer.streams[0].bitrate(now)).isEqualTo(LOW);
        assertThat(video.producer.streams[2].bitrate(now)).isEqualTo(HIGH);
        assertThat(video.producer.streams[2].peakBitrate(now)).isEqualTo(HIGH);
        assertThat(microphone(room, 2).producer.streams[0].bitrate(now)).isEqualTo(AUDIO);
    }

    @Test
    void audioComesFirstThenTheMainVideoAtTheHighestLayerThatFits() {
        Consumer audio = microphone(room, 1);
        Consumer video = camera(room, 2);
        List<Consumer> consumers = List.of(video, audio);

        long needed = allocate(consumers, AUDIO + withHeadroom(MID));
        assertThat(video.targetLayer).as("layer 1 fits next to the audio, layer 2 does not").isEqualTo(1);
        assertThat(needed).isEqualTo(AUDIO + MID);
        assertThat(plis(video, 1)).as("a keyframe of the new target is asked for").isEqualTo(1);

        now += SECOND;
        flowAll(consumers, now - SECOND, now);
        needed = allocate(consumers, AUDIO + withHeadroom(MID) - 1);
        assertThat(video.targetLayer).as("the audio's share is not the video's").isZero();
        assertThat(needed).isEqualTo(AUDIO + LOW);

        now += SECOND;
        flowAll(consumers, now - SECOND, now);
        needed = allocate(consumers, AUDIO / 2);
        assertThat(video.targetLayer).as("one estimate without room beside the audio: the lowest layer for now")
                .isZero();
        assertThat(needed).isEqualTo(AUDIO);
        allocateFor(consumers, AUDIO / 2, Allocator.SUSPEND_AFTER_NANOS);
        assertThat(video.targetLayer).as("no room beside the audio for a while: video suspended").isEqualTo(-1);
        assertThat(audio.targetLayer).as("audio is never suspended").isZero();
        assertThat(told).containsExactly("room:off");
    }

    @Test
    void theMainSourceIsServedFirstWhereverItStandsInTheList() {
        Consumer guestVideo = camera(guest, 1);
        Consumer roomVideo = camera(room, 2);
        List<Consumer> consumers = List.of(guestVideo, roomVideo);

        allocate(consumers, withHeadroom(HIGH));
        assertThat(roomVideo.targetLayer).isEqualTo(2);
        assertThat(guestVideo.targetLayer).as("its lowest layer while the suspension waits").isZero();
        allocateFor(consumers, withHeadroom(HIGH), Allocator.SUSPEND_AFTER_NANOS);
        assertThat(roomVideo.targetLayer).isEqualTo(2);
        assertThat(guestVideo.targetLayer).as("what is left does not carry even the guest's lowest layer")
                .isEqualTo(-1);
        assertThat(told).containsExactly("guest:off");

        allocate(consumers, withHeadroom(HIGH) + withHeadroom(LOW));
        assertThat(roomVideo.targetLayer).isEqualTo(2);
        assertThat(guestVideo.targetLayer).as("the guest's lowest layer fits what is left").isZero();
        assertThat(told).containsExactly("guest:off", "guest:on");
    }

    @Test
    void theOthersGetTheirLowestLayerAndWhatIsLeftUpgradesThemInOrder() {
        Consumer guestVideo = camera(guest, 1);
        Consumer roomVideo = camera(room, 2);
        Consumer interpreterVideo = camera(interpreter, 3);
        // main top layer, both others at their lowest, and then just enough to lift one other to layer 1
        long available = withHeadroom(HIGH) + 2 * LOW + (withHeadroom(MID) - LOW);

        long needed = allocate(List.of(guestVideo, roomVideo, interpreterVideo), available);
        assertThat(roomVideo.targetLayer).isEqualTo(2);
        assertThat(guestVideo.targetLayer).as("first in line: upgraded").isEqualTo(1);
        assertThat(interpreterVideo.targetLayer).as("nothing left for a second upgrade").isZero();
        assertThat(needed).isEqualTo(HIGH + MID + LOW);
        assertThat(told).isEmpty();

        Consumer guestVideo2 = camera(guest, 4);
        Consumer roomVideo2 = camera(room, 5);
        Consumer interpreterVideo2 = camera(interpreter, 6);
        allocate(List.of(interpreterVideo2, roomVideo2, guestVideo2), available);
        assertThat(interpreterVideo2.targetLayer).as("the order of the list decides").isEqualTo(1);
        assertThat(guestVideo2.targetLayer).isZero();

        allocate(List.of(guestVideo, roomVideo, interpreterVideo), Long.MAX_VALUE);
        assertThat(List.of(guestVideo.targetLayer, roomVideo.targetLayer, interpreterVideo.targetLayer))
                .as("no estimate yet: everybody's top layer").containsExactly(2, 2, 2);
    }

    @Test
    void anUpgradeNeedsTenPercentHeadroomButTheLayerBeingForwardedKeepsItsMeasuredRate() {
        Consumer video = camera(room, 1);
        List<Consumer> consumers = List.of(video);

        allocate(consumers, withHeadroom(MID) - 1);
        assertThat(video.targetLayer).isZero();
        allocate(consumers, withHeadroom(MID));
        assertThat(video.targetLayer).isEqualTo(1);

        video.currentLayer = 1; // its keyframe came: layer 1 is being forwarded
        allocate(consumers, MID);
        assertThat(video.targetLayer).as("no headroom needed to stay").isEqualTo(1);
        allocate(consumers, MID - 1);
        assertThat(video.targetLayer).as("below the measured rate: down").isZero();
    }

    @Test
    void anUpgradeIsBudgetedAtTheLayersHighestTwoSecondAverageOfTheLastTenSeconds() {
        Producer p = fixture.simulcastVp8(room, "q", "h", "f");
        flow(p.streams[0], LOW, T0, now);
        flow(p.streams[1], MID, T0, now);
        // the top layer ran at 2.4 Mbit/s for two seconds (a camera scene with motion), then at 1.6 Mbit/s
        flow(p.streams[2], HIGH, T0, T0 + 2 * SECOND);
        flow(p.streams[2], 2_400_000, T0 + 2 * SECOND, T0 + 4 * SECOND);
        flow(p.streams[2], HIGH, T0 + 4 * SECOND, now);
        Consumer video = ConferenceFixture.consumer(p, doctor, 1);
        List<Consumer> consumers = List.of(video);
        assertThat(p.streams[2].bitrate(now)).isEqualTo(HIGH);
        assertThat(p.streams[2].peakBitrate(now)).isEqualTo(2_400_000);

        allocate(consumers, withHeadroom(2_400_000) - 1);
        assertThat(video.targetLayer).as("the rate now would fit, the peak does not").isEqualTo(1);
        allocate(consumers, withHeadroom(2_400_000));
        assertThat(video.targetLayer).isEqualTo(2);

        // five seconds later the peak has left the 10 s window
        long later = now + 5 * SECOND;
        for (int l = 0; l < 3; l++) {
            flow(p.streams[l], new long[] {LOW, MID, HIGH}[l], now, later);
        }
        now = later;
        allocate(consumers, withHeadroom(MID));
        assertThat(video.targetLayer).isEqualTo(1);
        assertThat(p.streams[2].peakBitrate(now)).isEqualTo(HIGH);
        allocate(consumers, withHeadroom(HIGH));
        assertThat(video.targetLayer).isEqualTo(2);
    }

    @Test
    void oneKeyframeWindowDoesNotMakeThePeak() {
        Producer p = fixture.simulcastVp8(room, "q", "h", "f");
        flow(p.streams[0], LOW, T0, now);
        flow(p.streams[1], MID, T0, now);
        flow(p.streams[2], HIGH, T0, T0 + 6 * SECOND);
        flow(p.streams[2], 4_000_000, T0 + 6 * SECOND, T0 + 6 * SECOND + SECOND / 2); // one 500 ms window
        flow(p.streams[2], HIGH, T0 + 6 * SECOND + SECOND / 2, now);
        Consumer video = ConferenceFixture.consumer(p, doctor, 1);

        long twoSecondAverage = (4_000_000 + 3 * HIGH) / 4;
        assertThat(p.streams[2].peakBitrate(now)).isEqualTo(twoSecondAverage);
        allocate(List.of(video), withHeadroom(twoSecondAverage));
        assertThat(video.targetLayer).as("budgeted at the 2 s average, not at the 4 Mbit/s window").isEqualTo(2);
    }

    @Test
    void videoIsSuspendedWhenEvenTheLowestLayerDoesNotFitAndResumesTellingTheListenerOncePerChange() {
        Consumer roomVideo = camera(room, 1);
        Consumer guestVideo = camera(guest, 2);
        List<Consumer> consumers = List.of(roomVideo, guestVideo);
        roomVideo.currentLayer = 0; // being forwarded: resuming must wait for a keyframe again

        allocate(consumers, LOW - 1); // below even the measured rate of the layer the room's video gets
        allocateFor(consumers, LOW - 1, Allocator.SUSPEND_AFTER_NANOS - SECOND / 4);
        assertThat(roomVideo.targetLayer).as("not for long enough yet: the lowest layer").isZero();
        assertThat(roomVideo.currentLayer).isZero();
        assertThat(guestVideo.targetLayer).isZero();
        assertThat(told).isEmpty();

        tick(consumers);
        long needed = allocate(consumers, LOW - 1);
        assertThat(roomVideo.targetLayer).as("now it has not fitted for long enough").isEqualTo(-1);
        assertThat(roomVideo.currentLayer).as("forwarding stops at once").isEqualTo(-1);
        assertThat(guestVideo.targetLayer).isEqualTo(-1);
        assertThat(needed).isZero();
        assertThat(told).containsExactly("room:off", "guest:off");

        allocateFor(consumers, LOW - 1, SECOND);
        assertThat(told).as("told once, not every 250 ms").hasSize(2);

        long plisBefore = plis(roomVideo, 0);
        tick(consumers);
        allocate(consumers, withHeadroom(LOW));
        assertThat(roomVideo.targetLayer).as("the main source comes back first, at once").isZero();
        assertThat(plis(roomVideo, 0)).as("with a keyframe asked for").isEqualTo(plisBefore + 1);
        assertThat(guestVideo.targetLayer).isEqualTo(-1);
        assertThat(told).containsExactly("room:off", "guest:off", "room:on");

        tick(consumers);
        allocate(consumers, withHeadroom(HIGH) + withHeadroom(LOW));
        assertThat(roomVideo.targetLayer).isEqualTo(2);
        assertThat(guestVideo.targetLayer).isZero();
        assertThat(told).containsExactly("room:off", "guest:off", "room:on", "guest:on");
    }

    @Test
    void anEstimateThatFitsInBetweenRestartsTheWaitBeforeSuspension() {
        Consumer roomVideo = camera(room, 1);
        List<Consumer> consumers = List.of(roomVideo);
        allocate(consumers, withHeadroom(LOW) - 1);
        allocateFor(consumers, withHeadroom(LOW) - 1, Allocator.SUSPEND_AFTER_NANOS - SECOND);
        assertThat(roomVideo.targetLayer).isZero();
        tick(consumers);
        allocate(consumers, withHeadroom(LOW)); // one estimate that carries the lowest layer
        assertThat(roomVideo.targetLayer).isZero();
        allocate(consumers, withHeadroom(LOW) - 1);
        allocateFor(consumers, withHeadroom(LOW) - 1, Allocator.SUSPEND_AFTER_NANOS - SECOND / 4);
        assertThat(roomVideo.targetLayer).as("the wait started again").isZero();
        assertThat(told).isEmpty();
        tick(consumers);
        allocate(consumers, withHeadroom(LOW) - 1);
        assertThat(roomVideo.targetLayer).isEqualTo(-1);
        assertThat(told).containsExactly("room:off");
    }

    @Test
    void theReceiversLayerCapIsRespected() {
        Consumer roomVideo = camera(room, 1);
        Consumer guestVideo = camera(guest, 2);
        List<Consumer> consumers = List.of(roomVideo, guestVideo);
        roomVideo.maxLayer = 1;
        guestVideo.maxLayer = 1;

        allocate(consumers, Long.MAX_VALUE);
        assertThat(roomVideo.targetLayer).isEqualTo(1);
        assertThat(guestVideo.targetLayer).isEqualTo(1);
        assertThat(Allocator.desired(consumers, now)).isEqualTo(2 * MID);

        roomVideo.maxLayer = 0;
        guestVideo.maxLayer = 0;
        allocate(consumers, Long.MAX_VALUE);
        assertThat(roomVideo.targetLayer).isZero();
        assertThat(guestVideo.targetLayer).isZero();
        assertThat(told).isEmpty();
    }

    @Test
    void aVideoWithoutSimulcastIsNeverSuspended() {
        Producer single = fixture.singleVp8(room);
        flow(single.streams[0], MID, T0, now);
        Consumer roomVideo = ConferenceFixture.consumer(single, doctor, 1);
        Producer single2 = fixture.singleVp8(guest);
        flow(single2.streams[0], MID, T0, now);
        Consumer guestVideo = ConferenceFixture.consumer(single2, doctor, 2);

        allocateFor(List.of(roomVideo, guestVideo), LOW, 2 * Allocator.SUSPEND_AFTER_NANOS);
        assertThat(roomVideo.targetLayer).as("its sender adapts to the receivers' loss instead").isZero();
        assertThat(guestVideo.targetLayer).isZero();
        assertThat(told).isEmpty();
    }

    @Test
    void aLayerThatStoppedFlowingIsSkipped() {
        Producer p = fixture.simulcastVp8(room, "q", "h", "f");
        flow(p.streams[0], LOW, T0, now);
        flow(p.streams[1], MID, T0, now);
        flow(p.streams[2], HIGH, T0, now - 2 * SECOND); // the room's uplink got weak: Chromium paused it
        Consumer roomVideo = ConferenceFixture.consumer(p, doctor, 1);

        allocate(List.of(roomVideo), Long.MAX_VALUE);
        assertThat(roomVideo.targetLayer).isEqualTo(1);
        assertThat(Allocator.desired(List.of(roomVideo), now)).isEqualTo(MID);

        Producer q = fixture.simulcastVp8(guest, "q", "h", "f");
        flow(q.streams[0], LOW, T0, now - 2 * SECOND); // the lowest layer stopped
        flow(q.streams[1], MID, T0, now);
        flow(q.streams[2], HIGH, T0, now);
        Consumer guestVideo = ConferenceFixture.consumer(q, doctor, 2);
        allocate(List.of(guestVideo), withHeadroom(MID));
        assertThat(guestVideo.targetLayer).as("the lowest layer still flowing").isEqualTo(1);
        allocate(List.of(guestVideo), withHeadroom(MID) - 1);
        assertThat(guestVideo.targetLayer).as("while the suspension waits: still the lowest flowing layer")
                .isEqualTo(1);
        allocateFor(List.of(guestVideo), withHeadroom(MID) - 1, Allocator.SUSPEND_AFTER_NANOS);
        assertThat(guestVideo.targetLayer).as("not the stopped layer 0: suspended").isEqualTo(-1);
        assertThat(told).containsExactly("guest:off");
    }

    @Test
    void withNoLayerFlowingNothingIsDecidedAndNothingTold() {
        Producer p = fixture.simulcastVp8(room, "q", "h", "f");
        for (InboundStream s : p.streams) {
            flow(s, MID, T0, T0 + SECOND); // camera turned off long ago
        }
        Consumer roomVideo = ConferenceFixture.consumer(p, doctor, 1);
        Producer q = fixture.simulcastVp8(guest, "q", "h", "f");
        Consumer guestVideo = ConferenceFixture.consumer(q, doctor, 2); // no packet yet

        long needed = allocate(List.of(roomVideo, guestVideo), 1);
        assertThat(roomVideo.targetLayer).isEqualTo(2);
        assertThat(guestVideo.targetLayer).isEqualTo(2);
        assertThat(needed).isZero();
        assertThat(told).isEmpty();
        assertThat(Allocator.desired(List.of(roomVideo, guestVideo), now)).isZero();
    }

    @Test
    void desiredIsAudioAndEveryVideoAtItsBestFlowingLayerForNegotiatedConsumersOnly() {
        Consumer audio = microphone(room, 1);
        Consumer roomVideo = camera(room, 2);
        Consumer guestVideo = camera(guest, 3);
        Consumer notAnswered = camera(interpreter, 4);
        notAnswered.negotiated = false;
        Consumer gone = camera(interpreter, 5);
        gone.active = false;
        List<Consumer> consumers = List.of(audio, roomVideo, guestVideo, notAnswered, gone);

        assertThat(Allocator.desired(consumers, now)).isEqualTo(AUDIO + 2 * HIGH);
        long needed = allocate(consumers, 1);
        assertThat(needed).as("audio is counted even when it does not fit").isEqualTo(AUDIO);
        allocateFor(consumers, 1, Allocator.SUSPEND_AFTER_NANOS);
        assertThat(notAnswered.targetLayer).as("not negotiated: left alone").isEqualTo(2);
        assertThat(gone.targetLayer).isEqualTo(2);
        assertThat(told).containsExactly("room:off", "guest:off");
    }

    /** The allocator's 250 ms, with every layer still flowing. */
    private void tick(List<Consumer> consumers) {
        now += SECOND / 4;
        flowAll(consumers, now - SECOND / 4, now);
    }

    /** Allocations every 250 ms for {@code nanos}, at one estimate, with every flowing layer still flowing. */
    private void allocateFor(List<Consumer> consumers, long availableBps, long nanos) {
        long end = now + nanos;
        while (now < end) {
            tick(consumers);
            allocate(consumers, availableBps);
        }
    }

    /** Layers that flow go on flowing at their rate; those that stopped stay stopped. */
    private static void flowAll(List<Consumer> consumers, long from, long to) {
        for (Consumer c : consumers) {
            long[] rates = c.producer.video ? new long[] {LOW, MID, HIGH} : new long[] {AUDIO};
            for (int l = 0; l < c.producer.streams.length; l++) {
                if (c.producer.streams[l].active(from)) {
                    flow(c.producer.streams[l], rates[l], from, to);
                }
            }
        }
    }
}
