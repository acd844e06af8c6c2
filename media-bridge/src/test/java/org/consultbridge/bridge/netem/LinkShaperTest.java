package org.consultbridge.bridge.netem;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LinkShaperTest {

    private static final long MS = 1_000_000L;

    @Test
    void rateDelayAndOrderFollowTheProfile() {
        LinkShaper s = new LinkShaper(new LinkProfile("t", 400, 50, 20, 0, 1, 500), new SplittableRandom(1));
        // 1000-byte packets every 10 ms = 800 kbit/s offered into 400 kbit/s: the queue grows, then tail drops
        long last = 0;
        int delivered = 0;
        long lastDeliveredSendTime = 0;
        for (int i = 0; i < 1000; i++) {
            long now = i * 10 * MS;
            long t = s.deliveryTime(1000, now);
            if (t == LinkShaper.DROPPED) {
                continue;
            }
            delivered++;
            assertThat(t).as("never before send + delay").isGreaterThanOrEqualTo(now + 50 * MS);
            assertThat(t).as("order kept").isGreaterThanOrEqualTo(last);
            assertThat(t - now).as("queue bounded").isLessThanOrEqualTo((500 + 50 + 20 + 20) * MS);
            last = t;
            lastDeliveredSendTime = now;
        }
        // 10 s at 400 kbit/s carries 500 packets of 1000 bytes
        assertThat(delivered).isBetween(480, 560);
        assertThat(s.dropped()).isEqualTo(1000 - delivered);
        assertThat(lastDeliveredSendTime).isPositive();
    }

    @Test
    void lossRateHoldsForRandomAndBurstyLoss() {
        for (double burst : new double[] {1, 4}) {
            LinkShaper s = new LinkShaper(new LinkProfile("t", 0, 0, 0, 5, burst, 100), new SplittableRandom(7));
            int lost = 0;
            int runs = 0;
            boolean prevLost = false;
            for (int i = 0; i < 200_000; i++) {
                boolean l = s.deliveryTime(100, i) == LinkShaper.DROPPED;
                if (l) {
                    lost++;
                    if (!prevLost) {
                        runs++;
                    }
                }
                prevLost = l;
            }
            assertThat(lost / 200_000.0).as("loss rate, burst " + burst).isBetween(0.045, 0.055);
            double meanBurst = (double) lost / runs;
            assertThat(meanBurst).as("mean burst length").isBetween(burst * 0.85, burst * 1.2 + 0.1);
        }
    }

    @Test
    void profilesAreTheDocumentedOnes() {
        assertThat(LinkProfile.named("rural-weak").rateKbps()).isEqualTo(384);
        assertThat(LinkProfile.RURAL_WEAK.delayMillis() * 2).isEqualTo(150);
        assertThat(LinkProfile.EDGE.lossPercent()).isEqualTo(5.0);
        assertThat(LinkProfile.EDGE.delayMillis() * 2).isEqualTo(300);
        assertThat(LinkProfile.GOOD.rateKbps()).isEqualTo(20_000);
    }
}
