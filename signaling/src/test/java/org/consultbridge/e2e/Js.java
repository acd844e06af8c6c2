package org.consultbridge.e2e;

/** JavaScript source helpers for tests. */
final class Js {

    private Js() {
    }

    /** {@code s} as a JavaScript string literal. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("'");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\'' -> b.append("\\'");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
        return b.append('\'').toString();
    }
}
