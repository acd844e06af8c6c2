package org.consultbridge.bridge.conference;

import java.util.LinkedHashMap;
import java.util.Map;
import org.consultbridge.bridge.transport.DropReason;

/** Datagrams and packets one worker dropped, by reason: never an exception in the loop. Event loop only. */
final class DropCounters {

    private final long[] drops = new long[DropReason.values().length];

    void drop(DropReason reason) {
        drops[reason.ordinal()]++;
    }

    long count(DropReason reason) {
        return drops[reason.ordinal()];
    }

    Map<String, Long> byLabel() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (DropReason r : DropReason.values()) {
            m.put(r.label(), drops[r.ordinal()]);
        }
        return m;
    }
}
