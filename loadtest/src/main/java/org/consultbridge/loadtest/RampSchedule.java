package org.consultbridge.loadtest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The order of the steps of a run, without any server: with several targets they take turns level by level
 * (ConsultBridge at N, Janus at N, ConsultBridge at N+STEP, Janus at N+STEP, ...), so both are measured under the
 * same host conditions. A step that misses the objectives is measured once more, at once, before it counts (a
 * passing hiccup of a shared machine must not end a ramp); a target whose step misses twice, or that reached MAX,
 * is done, and the others go on without it.
 *
 * <p>Use: {@link #next()} for the step to run, then {@link #record} its outcome; {@code next()} returns null when
 * every target is done.
 */
final class RampSchedule {

    /**
     * One step to measure: {@code target} at {@code consultations}; {@code repeat} when it is the second measurement
     * of a level the first one missed.
     */
    record Step(String target, int consultations, boolean repeat) {
    }

    private static final class State {
        int level;
        boolean missedOnce;
        boolean done;
    }

    private final List<String> targets;
    private final Map<String, State> states = new LinkedHashMap<>();
    private final int rampStep;
    private final int rampMax;
    private int turn;
    private Step pending;

    /**
     * {@code targets} in the order they take turns; a ramp from {@code start} by {@code step} up to {@code max}, or
     * one level ({@code step} 0 or {@code max <= start}: a fixed load).
     */
    RampSchedule(List<String> targets, int start, int step, int max) {
        if (targets.isEmpty() || start < 1) {
            throw new IllegalArgumentException("need a target and a start of at least 1");
        }
        this.targets = List.copyOf(targets);
        boolean ramp = step > 0 && max > start;
        this.rampStep = ramp ? step : 0;
        this.rampMax = ramp ? max : start;
        for (String t : targets) {
            State s = new State();
            s.level = start;
            if (states.put(t, s) != null) {
                throw new IllegalArgumentException("target " + t + " given twice");
            }
        }
    }

    /** The next step to measure, or null when every target is done. */
    Step next() {
        if (pending != null) {
            throw new IllegalStateException("record the outcome of " + pending + " first");
        }
        for (int i = 0; i < targets.size(); i++) {
            String t = targets.get((turn + i) % targets.size());
            State s = states.get(t);
            if (!s.done) {
                turn = (turn + i) % targets.size();
                pending = new Step(t, s.level, s.missedOnce);
                return pending;
            }
        }
        return null;
    }

    /** The outcome of the step {@link #next()} returned: whether it met the objectives. */
    void record(Step step, boolean met) {
        if (pending == null || !pending.equals(step)) {
            throw new IllegalStateException("not the pending step: " + step + " (pending: " + pending + ")");
        }
        pending = null;
        State s = states.get(step.target());
        if (!met && !s.missedOnce) {
            s.missedOnce = true; // the same target at the same level, next
            return;
        }
        s.missedOnce = false;
        if (!met || rampStep == 0 || s.level + rampStep > rampMax) {
            s.done = true;
        } else {
            s.level += rampStep;
        }
        turn = (turn + 1) % targets.size();
    }

    /** True when {@code target} is done: it missed a level twice, or reached the end of the ramp. */
    boolean done(String target) {
        return states.get(target).done;
    }

    /**
     * Every step a run would take, given each step's outcome by {@code met} (tests; a dry run of the plan).
     */
    static List<Step> plan(List<String> targets, int start, int step, int max,
                           java.util.function.Predicate<Step> met) {
        RampSchedule s = new RampSchedule(targets, start, step, max);
        List<Step> steps = new ArrayList<>();
        for (Step next; (next = s.next()) != null; ) {
            steps.add(next);
            s.record(next, met.test(next));
        }
        return steps;
    }
}
