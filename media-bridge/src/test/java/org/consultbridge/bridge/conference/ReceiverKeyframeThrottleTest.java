package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The back-off for a receiver that keeps asking for keyframes (a participant that cannot decrypt, issue #8). */
class ReceiverKeyframeThrottleTest {

    private static final long MS = 1_000_000L;

    @Test
    void aSingleRequestPassesAtOnceAndSoDoesOneAfterAQuietSpell() {
        ReceiverKeyframeThrottle t = new ReceiverKeyframeThrottle();
        assertThat(t.accept(1000 * MS)).isTrue();
        assertThat(t.accept(7000 * MS)).as("5 s quiet: no back-off").isTrue();
        assertThat(t.accept(13_000 * MS)).isTrue();
        assertThat(t.heldBack).isZero();
    }

    @Test
    void aReceiverAskingEvery200MsIsPassedOnAtMostEveryTwoSecondsAfterABriefRampUp() {
        ReceiverKeyframeThrottle t = new ReceiverKeyframeThrottle();
        List<Long> passed = new ArrayList<>();
        for (long now = 0; now <= 20_000 * MS; now += 200 * MS) { // Chromium without a decodable frame
            if (t.accept(now)) {
                passed.add(now / MS);
            }
        }
        // 0, then 0.5 s, 1 s, 2 s, 2 s, ... apart
        assertThat(passed.subList(0, 4)).containsExactly(0L, 600L, 1600L, 3600L);
        for (int i = 4; i < passed.size(); i++) {
            assertThat(passed.get(i) - passed.get(i - 1)).isBetween(2000L, 2200L);
        }
        assertThat(passed.size()).as("of 101 requests in 20 s").isBetween(10, 13);
        assertThat(t.heldBack).isEqualTo(101 - passed.size());
    }

    @Test
    void twoLossesAFewSecondsApartAreBothPassedOn() {
        ReceiverKeyframeThrottle t = new ReceiverKeyframeThrottle();
        assertThat(t.accept(0)).isTrue();
        assertThat(t.accept(3000 * MS)).as("3 s later (beyond the first 0.5 s step)").isTrue();
        assertThat(t.accept(3300 * MS)).as("a repeat 0.3 s later waits").isFalse();
        assertThat(t.accept(4100 * MS)).as("1 s after the second").isTrue();
    }
}
