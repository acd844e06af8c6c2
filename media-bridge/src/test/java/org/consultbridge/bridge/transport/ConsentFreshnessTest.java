package org.consultbridge.bridge.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** RFC 7675 §5.1 consent expiry with a clock the test moves (plain numbers, nothing waits). */
class ConsentFreshnessTest {

    private static final long S = TimeUnit.SECONDS.toNanos(1);
    /** An arbitrary start: nanoTime values may be negative or near overflow, only differences count. */
    private static final long T0 = Long.MAX_VALUE - 10 * S;

    @Test
    void expiresOnceJustAfterTheTimeoutSinceTheLastRefresh() {
        ConsentFreshness c = new ConsentFreshness(30 * S);
        c.refresh(T0);
        assertThat(c.expire(T0 + 30 * S)).as("at exactly 30 s consent still holds").isFalse();
        assertThat(c.expired()).isFalse();
        assertThat(c.expire(T0 + 30 * S + 1)).as("just after 30 s it expires").isTrue();
        assertThat(c.expired()).isTrue();
        assertThat(c.expire(T0 + 40 * S)).as("reported once").isFalse();
        assertThat(c.expired()).isTrue();
    }

    @Test
    void refreshesPushTheExpiryOut() {
        ConsentFreshness c = new ConsentFreshness(30 * S);
        c.refresh(T0);
        for (int i = 1; i <= 20; i++) { // a browser's check every 5 s for 100 s (the counter wraps on the way)
            assertThat(c.refresh(T0 + 5 * i * S)).as("no expiry to end").isFalse();
            assertThat(c.expire(T0 + 5 * i * S + 4 * S)).isFalse();
        }
        assertThat(c.lastRefreshNanos()).isEqualTo(T0 + 100 * S);
        assertThat(c.expire(T0 + 130 * S)).isFalse();
        assertThat(c.expire(T0 + 131 * S)).isTrue();
    }

    @Test
    void aRefreshAfterExpiryGrantsConsentAgainAndSaysSo() {
        ConsentFreshness c = new ConsentFreshness(2 * S);
        c.refresh(T0);
        assertThat(c.expire(T0 + 3 * S)).isTrue();
        assertThat(c.refresh(T0 + 4 * S)).as("the check that ends an outage").isTrue();
        assertThat(c.expired()).isFalse();
        assertThat(c.refresh(T0 + 5 * S)).as("later checks end nothing").isFalse();
        assertThat(c.expire(T0 + 7 * S)).isFalse();
        assertThat(c.expire(T0 + 7 * S + 1)).as("and it can expire again").isTrue();
    }

    @Test
    void neverGrantedNeverExpires() {
        ConsentFreshness c = new ConsentFreshness(2 * S);
        assertThat(c.granted()).isFalse();
        assertThat(c.expire(T0 + 1000 * S)).isFalse();
        assertThat(c.expired()).isFalse();
    }

    @Test
    void timeoutComesFromTheSystemPropertyOrTheRfcDefault() {
        String before = System.getProperty(ConsentFreshness.TIMEOUT_PROPERTY);
        try {
            System.clearProperty(ConsentFreshness.TIMEOUT_PROPERTY);
            assertThat(ConsentFreshness.configuredTimeoutNanos()).isEqualTo(30 * S)
                    .isEqualTo(ConsentFreshness.DEFAULT_TIMEOUT_NANOS);
            System.setProperty(ConsentFreshness.TIMEOUT_PROPERTY, "2500");
            assertThat(ConsentFreshness.configuredTimeoutNanos()).isEqualTo(2500 * 1_000_000L);
            System.setProperty(ConsentFreshness.TIMEOUT_PROPERTY, "30s");
            assertThatThrownBy(ConsentFreshness::configuredTimeoutNanos)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("milliseconds");
            System.setProperty(ConsentFreshness.TIMEOUT_PROPERTY, "0");
            assertThatThrownBy(ConsentFreshness::configuredTimeoutNanos)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive");
        } finally {
            if (before == null) {
                System.clearProperty(ConsentFreshness.TIMEOUT_PROPERTY);
            } else {
                System.setProperty(ConsentFreshness.TIMEOUT_PROPERTY, before);
            }
        }
        assertThatThrownBy(() -> new ConsentFreshness(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void refreshAndExpireAllocateNothing() {
        ConsentFreshness c = new ConsentFreshness(2 * S);
        com.sun.management.ThreadMXBean mx =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long t = T0;
        for (int i = 0; i < 20_000; i++) { // warm up (JIT)
            c.refresh(t);
            c.expire(t += S / 2);
        }
        long before = mx.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 100_000; i++) {
            c.refresh(t);
            c.expire(t += 3 * S);
        }
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).as("bytes allocated by 100000 refresh/expire pairs").isLessThan(4096);
    }
}
