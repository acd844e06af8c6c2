package org.consultbridge.e2e;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Closes harness resources that a test left open when the JVM exits (Ctrl-C, a crashed test, a forgotten
 * {@code close()}).
 *
 * <p>Why: a leaked namespace keeps its veth and its subnet, and a leaked Chromium keeps a CPU busy; on a two-core
 * CI machine both poison the next test. Resources close in reverse order of registration, so a browser closes
 * before the namespace it runs in.
 */
final class E2eCleanup {

    private static final Set<AutoCloseable> OPEN = new LinkedHashSet<>();
    private static boolean hookInstalled;

    private E2eCleanup() {
    }

    static synchronized void register(AutoCloseable resource) {
        if (!hookInstalled) {
            Runtime.getRuntime().addShutdownHook(new Thread(E2eCleanup::closeAll, "cbt-e2e-cleanup"));
            hookInstalled = true;
        }
        OPEN.add(resource);
    }

    static synchronized void unregister(AutoCloseable resource) {
        OPEN.remove(resource);
    }

    private static void closeAll() {
        List<AutoCloseable> resources;
        synchronized (E2eCleanup.class) {
            resources = new ArrayList<>(OPEN);
        }
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception | Error e) {
                System.err.println("cbt-e2e: cleanup of " + resources.get(i) + " failed: " + e);
            }
        }
    }
}
