package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.consultbridge.loadtest.RampSchedule.Step;
import org.junit.jupiter.api.Test;

/** The order of the steps, fed with made-up outcomes: no server needed. */
class RampScheduleTest {

    private static final List<String> BOTH = List.of("consultbridge", "janus");

    private static Step cb(int n) {
        return new Step("consultbridge", n, false);
    }

    private static Step cbAgain(int n) {
        return new Step("consultbridge", n, true);
    }

    private static Step janus(int n) {
        return new Step("janus", n, false);
    }

    private static Step janusAgain(int n) {
        return new Step("janus", n, true);
    }

    /** Met unless the step (a first try or a repeat) is in {@code missed}. */
    private static Predicate<Step> outcomes(Set<Step> missed) {
        return s -> !missed.contains(s);
    }

    @Test
    void theTargetsTakeTurnsLevelByLevel() {
        assertThat(RampSchedule.plan(BOTH, 10, 10, 30, s -> true))
                .containsExactly(cb(10), janus(10), cb(20), janus(20), cb(30), janus(30));
    }

    @Test
    void aMissIsRepeatedOnceAtOnceAndCountsOnlyTheSecondTime() {
        // ConsultBridge misses 20 once (then meets it), Janus misses 20 twice: Janus is done, ConsultBridge goes on
        List<Step> plan = RampSchedule.plan(BOTH, 10, 10, 40,
                outcomes(Set.of(cb(20), janus(20), janusAgain(20))));
        assertThat(plan).containsExactly(cb(10), janus(10), cb(20), cbAgain(20), janus(20), janusAgain(20), cb(30),
                cb(40));
    }

    @Test
    void theOtherGoesOnUntilItMissesOrReachesMax() {
        List<Step> plan = RampSchedule.plan(BOTH, 10, 10, 60,
                outcomes(Set.of(cb(20), cbAgain(20), janus(40), janusAgain(40))));
        assertThat(plan).containsExactly(cb(10), janus(10), cb(20), cbAgain(20), janus(20), janus(30), janus(40),
                janusAgain(40));
        // a met repeat resets: the next miss is repeated again
        assertThat(RampSchedule.plan(List.of("consultbridge"), 10, 10, 30, outcomes(Set.of(cb(10), cb(20)))))
                .containsExactly(cb(10), cbAgain(10), cb(20), cbAgain(20), cb(30));
    }

    @Test
    void maxNotOnTheStepGridAndFixedLoads() {
        assertThat(RampSchedule.plan(BOTH, 10, 10, 25, s -> true))
                .as("the last level that fits under MAX").containsExactly(cb(10), janus(10), cb(20), janus(20));
        assertThat(RampSchedule.plan(BOTH, 10, 0, 10, s -> true)).as("fixed load: one level each")
                .containsExactly(cb(10), janus(10));
        assertThat(RampSchedule.plan(List.of("janus"), 10, 0, 10, s -> false)).as("a fixed load missed twice")
                .containsExactly(janus(10), janusAgain(10));
        assertThat(RampSchedule.plan(BOTH, 10, 0, 10, outcomes(Set.of(janus(10)))))
                .containsExactly(cb(10), janus(10), janusAgain(10));
    }

    @Test
    void stepsComeOneAtATime() {
        RampSchedule s = new RampSchedule(BOTH, 5, 5, 10);
        Step first = s.next();
        assertThat(first).isEqualTo(new Step("consultbridge", 5, false));
        assertThatThrownBy(s::next).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> s.record(janus(5), true)).isInstanceOf(IllegalStateException.class);
        s.record(first, false);
        assertThat(s.done("consultbridge")).isFalse();
        Step repeat = s.next();
        assertThat(repeat).isEqualTo(cbAgain(5));
        s.record(repeat, false);
        assertThat(s.done("consultbridge")).isTrue();
        List<Step> rest = new ArrayList<>();
        for (Step n; (n = s.next()) != null; ) {
            rest.add(n);
            s.record(n, true);
        }
        assertThat(rest).containsExactly(new Step("janus", 5, false), new Step("janus", 10, false));
        assertThat(s.done("janus")).isTrue();
    }
}
