package org.consultbridge.loadtest;

/**
 * A simulated rural link applied inside the generator to one participant's datagrams, in both directions: random
 * loss, one-way delay with jitter, and (upstream) a rate limit with a bounded queue, like a DSL or LTE uplink.
 *
 * @param lossPercent random loss per datagram and direction
 * @param delayMillis one-way delay added per direction
 * @param jitterMillis uniform extra delay 0..jitter
 * @param upRateKbps uplink rate (0 = unlimited); datagrams beyond a 200 ms queue are dropped
 */
record Impairment(double lossPercent, int delayMillis, int jitterMillis, int upRateKbps) {

    static final Impairment NONE = new Impairment(0, 0, 0, 0);

    boolean none() {
        return lossPercent <= 0 && delayMillis <= 0 && jitterMillis <= 0 && upRateKbps <= 0;
    }

    static Impairment parse(String spec) {
        // "loss=2,delay=100,jitter=20,rate=384"
        double loss = 0;
        int delay = 0;
        int jitter = 0;
        int rate = 0;
        for (String part : spec.split(",")) {
            String[] kv = part.split("=");
            if (kv.length != 2) {
                throw new IllegalArgumentException("impairment parts are key=value: " + part);
            }
            switch (kv[0].trim()) {
                case "loss" -> loss = Double.parseDouble(kv[1]);
                case "delay" -> delay = Integer.parseInt(kv[1]);
                case "jitter" -> jitter = Integer.parseInt(kv[1]);
                case "rate" -> rate = Integer.parseInt(kv[1]);
                default -> throw new IllegalArgumentException("unknown impairment: " + kv[0]);
            }
        }
        return new Impairment(loss, delay, jitter, rate);
    }
}
