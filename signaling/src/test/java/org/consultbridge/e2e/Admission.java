package org.consultbridge.e2e;

import java.time.Duration;

/**
 * The waiting room (on by default, issue #7) in browser tests: the doctor's page admits through its own client API
 * ({@code window.consultbridge.admit}), or the test clicks the page's Admit button as a doctor would.
 */
final class Admission {

    private static final Duration PAGE_TIMEOUT = Duration.ofSeconds(30);

    private Admission() {
    }

    /** From now on the doctor's (or staff's) page admits everyone who waits, once each. */
    static void autoAdmit(Browser doctor) {
        doctor.waitFor("!!window.consultbridge", PAGE_TIMEOUT);
        doctor.execute("""
                const c = window.consultbridge;
                if (c.testAutoAdmit) return;
                c.testAutoAdmit = new Set();
                const go = () => {
                  for (const w of c.waiting) {
                    if (c.testAutoAdmit.has(w.participantId)) continue;
                    c.testAutoAdmit.add(w.participantId);
                    c.admit(w.participantId).catch(() => c.testAutoAdmit.delete(w.participantId));
                  }
                };
                c.addEventListener('waitingRoom', go);
                go();
                """);
    }

    /** Waits until {@code participantId} is in the doctor page's waiting list and clicks its Admit button. */
    static void clickAdmit(Browser doctor, String participantId) {
        click(doctor, "#waiting-list button.admit[data-target=" + Js.quote(participantId) + "]");
    }

    static void clickDecline(Browser doctor, String participantId) {
        click(doctor, "#waiting-list button.decline[data-target=" + Js.quote(participantId) + "]");
    }

    /** Clicks the Remove button of a participant in the call in the doctor page's participant list. */
    static void clickRemove(Browser doctor, String participantId) {
        click(doctor, "#participants button.remove[data-target=" + Js.quote(participantId) + "]");
    }

    /** Clicks End consultation twice (the second click confirms). */
    static void clickEnd(Browser doctor) {
        click(doctor, "#end-consultation");
        click(doctor, "#end-consultation");
    }

    private static void click(Browser b, String selector) {
        String q = "document.querySelector(" + Js.quote(selector) + ")";
        b.waitFor("!!" + q + " && !" + q + ".disabled && !" + q + ".hidden", PAGE_TIMEOUT);
        b.execute(q + ".click();");
    }
}
