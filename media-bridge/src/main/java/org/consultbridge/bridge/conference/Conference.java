package org.consultbridge.bridge.conference;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One call on the bridge: its endpoints, and the routing rule between them (every endpoint receives every other
 * endpoint's producers). Owned by the bridge's event loop.
 */
final class Conference {

    final String id;
    final Map<String, Endpoint> endpoints = new LinkedHashMap<>();

    Conference(String id) {
        this.id = id;
    }

    void add(Endpoint endpoint) {
        endpoints.put(endpoint.id(), endpoint);
        for (Endpoint other : endpoints.values()) {
            if (other == endpoint) {
                continue;
            }
            for (Producer p : other.producers()) {
                endpoint.addConsumer(p);
            }
        }
    }

    /** A new producer: every other endpoint gets a consumer of it. */
    void producerAdded(Producer producer) {
        for (Endpoint other : endpoints.values()) {
            if (other != producer.owner) {
                other.addConsumer(producer);
            }
        }
    }

    void remove(Endpoint endpoint) {
        endpoints.remove(endpoint.id());
        List<Endpoint> others = new ArrayList<>(endpoints.values());
        for (Endpoint other : others) {
            other.removeConsumersOf(endpoint);
        }
    }

    boolean isEmpty() {
        return endpoints.isEmpty();
    }
}
