package org.consultbridge.signaling.consultation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class ExpiringSetTest {

    /** A clock the test moves. */
    static final class MovableClock extends Clock {
        Instant now = Instant.parse("2025-06-02T09:00:00Z");

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void namesStayUntilTheirExpiry() {
        MovableClock clock = new MovableClock();
        ExpiringSet set = new ExpiringSet(10, clock);
        set.add("jti:a", clock.now.plusSeconds(60));
        set.add("jti:b", clock.now.plusSeconds(120));
        set.add("jti:past", clock.now.minusSeconds(1));
        assertThat(set.contains("jti:a")).isTrue();
        assertThat(set.contains("jti:past")).isFalse();
        clock.now = clock.now.plus(Duration.ofSeconds(90));
        assertThat(set.contains("jti:a")).isFalse();
        assertThat(set.contains("jti:b")).isTrue();
        assertThat(set.size()).isEqualTo(1);
    }

    @Test
    void aFullSetForgetsTheEntryThatExpiresSoonestAndCountsIt() {
        MovableClock clock = new MovableClock();
        ExpiringSet set = new ExpiringSet(3, clock);
        set.add("late", clock.now.plusSeconds(300));
        set.add("soon", clock.now.plusSeconds(10));
        set.add("middle", clock.now.plusSeconds(100));
        set.add("new", clock.now.plusSeconds(200));
        assertThat(set.size()).isEqualTo(3);
        assertThat(set.contains("soon")).isFalse();
        assertThat(set.contains("late")).isTrue();
        assertThat(set.contains("new")).isTrue();
        assertThat(set.evictions()).isEqualTo(1);
        // re-adding a name with a later expiry keeps one entry
        set.add("middle", clock.now.plusSeconds(400));
        assertThat(set.size()).isEqualTo(3);
        clock.now = clock.now.plusSeconds(350);
        assertThat(set.contains("middle")).isTrue();
        assertThat(set.contains("late")).isFalse();
    }
}
