package org.consultbridge.signaling.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import org.consultbridge.bridge.api.TransportState;
import org.junit.jupiter.api.Test;

/** Verdicts against the default thresholds of reference.conf, and configured ones. */
class VerdictTest {

    private static final OpsSettings.Thresholds DEFAULTS =
            OpsSettings.from(ConfigFactory.load().getConfig("consultbridge")).thresholds();
    private static final TransportState OK = TransportState.CONNECTED;

    private static Verdict.Figures figures(double downLoss, double upLoss, long rtt, double jitter, long estimate,
                                           int suspended, double fps, double concealment, long freezes) {
        return new Verdict.Figures(OK, OK, downLoss, upLoss, rtt, jitter, estimate, suspended, true, fps,
                concealment, freezes);
    }

    @Test
    void aCleanCallIsGood() {
        Verdict v = Verdict.judge(figures(0.001, 0, 40, 5, 2_000_000, 0, 30, 0.001, 0), DEFAULTS);
        assertThat(v.level()).isEqualTo(Verdict.Level.GOOD);
        assertThat(v.reasons()).isEmpty();
    }

    @Test
    void unknownFiguresNeverMakeItWorse() {
        Verdict v = Verdict.judge(new Verdict.Figures(OK, OK, -1, -1, -1, -1, -1, 0, true, -1, -1, 0), DEFAULTS);
        assertThat(v.level()).isEqualTo(Verdict.Level.GOOD);
    }

    @Test
    void eachFigureCanDegradeWithItsReason() {
        assertThat(Verdict.judge(figures(0.04, 0, 40, 5, 2_000_000, 0, 30, 0, 0), DEFAULTS))
                .satisfies(v -> {
                    assertThat(v.level()).isEqualTo(Verdict.Level.DEGRADED);
                    assertThat(v.reason()).contains("downlink loss 4.0 %");
                });
        assertThat(Verdict.judge(figures(0, 0, 450, 5, 2_000_000, 0, 30, 0, 0), DEFAULTS).reason())
                .contains("RTT 450 ms");
        assertThat(Verdict.judge(figures(0, 0, 40, 5, 250_000, 0, 30, 0, 0), DEFAULTS).reason())
                .contains("downlink estimate 250 kbit/s");
        assertThat(Verdict.judge(figures(0, 0, 40, 5, 2_000_000, 1, 30, 0, 0), DEFAULTS).reason())
                .contains("audio only");
        assertThat(Verdict.judge(figures(0, 0, 40, 5, 2_000_000, 0, 12, 0, 0), DEFAULTS).reason())
                .contains("client video 12 fps");
        assertThat(Verdict.judge(figures(0, 0, 40, 5, 2_000_000, 0, 30, 0.05, 0), DEFAULTS).reason())
                .contains("audio concealed 5.0 %");
        assertThat(Verdict.judge(figures(0, 0, 40, 5, 2_000_000, 0, 30, 0, 2), DEFAULTS).reason())
                .contains("froze 2x");
        assertThat(Verdict.judge(figures(0, 0.03, 40, 5, 2_000_000, 0, 30, 0, 0), DEFAULTS).reason())
                .contains("uplink loss 3.0 %");
        assertThat(Verdict.judge(figures(0, 0, 40, 50, 2_000_000, 0, 30, 0, 0), DEFAULTS).reason())
                .contains("jitter 50 ms");
    }

    @Test
    void badWinsAndIsListedFirst() {
        Verdict v = Verdict.judge(figures(0.12, 0, 450, 5, 2_000_000, 0, 30, 0, 0), DEFAULTS);
        assertThat(v.level()).isEqualTo(Verdict.Level.BAD);
        assertThat(v.reasons().get(0)).startsWith("downlink loss 12.0 %");
        assertThat(v.reasons()).hasSize(2);
        assertThat(Verdict.judge(new Verdict.Figures(TransportState.FAILED, OK, -1, -1, -1, -1, -1, 0, false, -1,
                -1, 0), DEFAULTS).level()).isEqualTo(Verdict.Level.BAD);
        assertThat(Verdict.judge(figures(0, 0, 40, 5, 50_000, 0, 3, 0, 0), DEFAULTS).reasons())
                .containsExactly("downlink estimate 50 kbit/s", "client video 3 fps");
    }

    @Test
    void aRuralWeakLinkIsDegradedNotGoodAndNotBad() {
        // rural-weak (384 kbit/s, 150 ms RTT, 2 % loss, 20 ms jitter) as the bridge sees it over the verdict window:
        // ~2 % loss each way, RTT 150-250 ms with queueing, audio jitter ~7 ms, an estimate around the link's rate
        for (double loss : new double[] {0.015, 0.02, 0.03}) {
            for (long rtt : new long[] {150, 250}) {
                Verdict v = Verdict.judge(figures(loss, loss, rtt, 7, 330_000, 0, 18, 0.02, 0), DEFAULTS);
                assertThat(v.level()).as(loss + " / " + rtt).isEqualTo(Verdict.Level.DEGRADED);
                assertThat(v.reason()).contains("uplink loss", "downlink loss").doesNotContain("RTT");
            }
        }
        // a clean link with the odd lost packet stays good
        assertThat(Verdict.judge(figures(0.004, 0.006, 40, 5, 2_000_000, 0, 25, 0.005, 0), DEFAULTS).level())
                .isEqualTo(Verdict.Level.GOOD);
        // EDGE-like (5 %+ loss): bad
        assertThat(Verdict.judge(figures(0.06, 0.06, 300, 10, 120_000, 1, 0, 0.08, 0), DEFAULTS).level())
                .isEqualTo(Verdict.Level.BAD);
    }

    @Test
    void fpsCountsOnlyWhenVideoIsExpected() {
        Verdict v = Verdict.judge(new Verdict.Figures(OK, OK, 0, 0, 40, 5, 2_000_000, 0, false, 0, 0, 0), DEFAULTS);
        assertThat(v.level()).isEqualTo(Verdict.Level.GOOD);
    }

    @Test
    void thresholdsAreConfigurableAndChecked() {
        OpsSettings.Thresholds strict = new OpsSettings.Thresholds(0.001, 0.01, 50, 100, 5, 10, 3_000_000,
                1_000_000, 25, 20, 0.001, 0.01);
        assertThat(Verdict.judge(figures(0.005, 0, 40, 1, 5_000_000, 0, 30, 0, 0), strict).level())
                .isEqualTo(Verdict.Level.DEGRADED);
        assertThat(Verdict.judge(figures(0.005, 0, 40, 1, 5_000_000, 0, 30, 0, 0), DEFAULTS).level())
                .isEqualTo(Verdict.Level.GOOD);
        assertThatThrownBy(() -> new OpsSettings.Thresholds(0.1, 0.01, 50, 100, 5, 10, 3_000_000, 1_000_000, 25,
                20, 0.001, 0.01)).isInstanceOf(IllegalArgumentException.class);
        var config = ConfigFactory.parseString("consultbridge.ops.thresholds.rtt-bad-ms = 100")
                .withFallback(ConfigFactory.load());
        assertThatThrownBy(() -> OpsSettings.from(config.getConfig("consultbridge")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
