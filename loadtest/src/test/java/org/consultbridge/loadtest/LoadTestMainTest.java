package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.consultbridge.bridge.netem.LinkProfile;
import org.junit.jupiter.api.Test;

/** The generator's command line: defaults, and a clear message for every mistake (exit 2 with the usage). */
class LoadTestMainTest {

    private static final String JAR = "pom.xml"; // any existing file stands in for the server's jar

    private static LoadTestMain.Cli parse(int cores, String... args) throws LoadTestMain.UsageException {
        return LoadTestMain.parse(args, cores);
    }

    private static void refused(String message, String... args) {
        assertThatThrownBy(() -> parse(2, args)).isInstanceOf(LoadTestMain.UsageException.class)
                .hasMessageContaining(message);
    }

    @Test
    void defaultsPinTheServerToCore0AndTheGeneratorToCore1() throws Exception {
        LoadTestMain.Cli c = parse(2, "--start-server", JAR);
        assertThat(c.target()).isEqualTo("consultbridge");
        assertThat(c.rampStart()).isEqualTo(10);
        assertThat(c.rampMax()).isEqualTo(10);
        assertThat(c.participants()).isEqualTo(2);
        assertThat(c.videoKbps()).containsExactly(150, 500, 1500);
        assertThat(c.impairment().profile()).isEqualTo(LinkProfile.RURAL_WEAK);
        assertThat(c.pinning()).isEqualTo(new CpuPinning("0", "1"));
        assertThat(c.threads()).as("one event loop per generator core").isEqualTo(1);
        assertThat(parse(1, "--start-server", JAR).pinning()).as("one core: nothing to split").isEqualTo(CpuPinning.NONE);
        assertThat(parse(4, "--start-server", JAR, "--server-cpus", "none", "--generator-cpus", "none").pinning())
                .isEqualTo(CpuPinning.NONE);
        assertThat(parse(4, "--start-server", JAR, "--server-cpus", "0-1", "--generator-cpus", "2,3").threads())
                .isEqualTo(2);
        // a server we did not start is pinned only when asked to
        assertThat(parse(2, "--url", "http://127.0.0.1:8080", "--secret", "s".repeat(32)).pinning())
                .isEqualTo(new CpuPinning(null, "1"));
    }

    @Test
    void rampProfilesAndSpecs() throws Exception {
        LoadTestMain.Cli c = parse(2, "--target=both", "--start-server", JAR, "--ramp", "10,10,80", "--step-seconds",
                "10", "--impaired", "0.2", "--impairment", "edge", "--participants", "3");
        assertThat(c.target()).isEqualTo("both");
        assertThat(c.rampStart()).isEqualTo(10);
        assertThat(c.rampStep()).isEqualTo(10);
        assertThat(c.rampMax()).isEqualTo(80);
        assertThat(c.step().toSeconds()).isEqualTo(10);
        assertThat(c.impairment().profile()).isEqualTo(LinkProfile.EDGE);
        LinkProfile spec = parse(2, "--start-server", JAR, "--impaired", "1", "--impairment",
                "loss=2,delay=100,jitter=20,rate=384").impairment().profile();
        assertThat(spec.lossPercent()).isEqualTo(2.0);
        assertThat(spec.delayMillis()).isEqualTo(100);
        assertThat(spec.jitterMillis()).isEqualTo(20);
        assertThat(spec.rateKbps()).isEqualTo(384);
        LinkProfile over = parse(2, "--start-server", JAR, "--impaired", "1", "--impairment", "rural-weak,loss=5")
                .impairment().profile();
        assertThat(over.lossPercent()).isEqualTo(5.0);
        assertThat(over.rateKbps()).isEqualTo(LinkProfile.RURAL_WEAK.rateKbps());
        assertThat(parse(2, "--start-server", JAR, "--simulcast", "off", "--video-kbps", "800").videoKbps())
                .containsExactly(800);
    }

    @Test
    void badNumbersAndRanges() {
        refused("--consultations: not a whole number: \"ten\"", "--start-server", JAR, "--consultations", "ten");
        refused("--consultations must be between 1 and 10000, got 0", "--start-server", JAR, "--consultations", "0");
        refused("--participants must be between 2 and 3, got 5", "--start-server", JAR, "--participants", "5");
        refused("--ramp takes START,STEP,MAX", "--start-server", JAR, "--ramp", "10,20");
        refused("--ramp MAX (5) is below START (10)", "--start-server", JAR, "--ramp", "10,5,5");
        refused("--ramp STEP must be between 1", "--start-server", JAR, "--ramp", "10,0,50");
        refused("--step-seconds must be between 1 and 3600", "--start-server", JAR, "--step-seconds", "-3");
        refused("--impaired must be between 0.0 and 1.0, got 20", "--start-server", JAR, "--impaired", "20");
        refused("--slo-loss: not a number", "--start-server", JAR, "--slo-loss", "half");
        refused("--simulcast layers go lowest first", "--start-server", JAR, "--simulcast", "1500,500,150");
        refused("--simulcast takes one to three bit rates", "--start-server", JAR, "--simulcast", "1,2,3,4");
        refused("unknown link profile fast", "--start-server", JAR, "--impaired", "0.5", "--impairment", "fast");
        refused("--impairment: unknown key \"lag\"", "--start-server", JAR, "--impaired", "0.5", "--impairment", "lag=3");
        refused("--impairment loss must be between 0 and 100, got 150", "--start-server", JAR, "--impaired", "0.5",
                "--impairment", "loss=150");
        refused("--server-cpus: core 7 does not exist (this machine has cores 0-1)", "--start-server", JAR,
                "--server-cpus", "7");
        refused("--generator-cpus: not a core number: \"x\"", "--start-server", JAR, "--generator-cpus", "x");
        refused("--threads must be between 1 and 256", "--start-server", JAR, "--threads", "0");
    }

    @Test
    void unknownRepeatedAndConflictingOptions() {
        refused("unknown option --consultation", "--start-server", JAR, "--consultation", "3");
        refused("unexpected argument \"10\"", "--start-server", JAR, "10");
        refused("--ramp needs a value", "--start-server", JAR, "--ramp");
        refused("--participants given twice", "--start-server", JAR, "--participants", "2", "--participants", "3");
        refused("--target must be consultbridge, janus or both", "--target", "jitsi");
        refused("need --start-server JAR, or --url and --secret");
        refused("--url and --start-server contradict", "--start-server", JAR, "--url", "http://127.0.0.1:1");
        refused("--url needs --secret", "--url", "http://127.0.0.1:8080");
        refused("--url must be an http(s) URL", "--url", "ftp://x", "--secret", "s".repeat(32));
        refused("--secret goes with --url", "--start-server", JAR, "--secret", "s".repeat(32));
        refused("--secret is shorter than 32 bytes", "--url", "http://127.0.0.1:8080", "--secret", "short");
        refused("--ramp and --consultations contradict", "--start-server", JAR, "--ramp", "1,1,3", "--consultations", "2");
        refused("--video-kbps goes with --simulcast off", "--start-server", JAR, "--video-kbps", "900");
        refused("--impairment without --impaired SHARE impairs nobody", "--start-server", JAR, "--impairment", "edge");
        refused("share core(s) [1]: the generator would take the server's CPU", "--start-server", JAR,
                "--server-cpus", "0-1", "--generator-cpus", "1");
        refused("--server-cpus with --url needs --server-pid", "--url", "http://127.0.0.1:8080", "--secret",
                "s".repeat(32), "--server-cpus", "0");
        refused("--start-server: no such file: nope.jar", "--start-server", "nope.jar");
    }

    @Test
    void noisyNeighbour() throws Exception {
        assertThat(parse(2, "--start-server", JAR).noisyNeighbour()).as("none by default").isZero();
        LoadTestMain.Cli c = parse(2, "--target", "both", "--start-server", JAR, "--consultations", "10",
                "--noisy-neighbour", "20");
        assertThat(c.noisyNeighbour()).isEqualTo(20);
        LoadOptions o = c.options(java.net.URI.create("http://127.0.0.1:1"), "s".repeat(32), 1, "127.0.0.1");
        assertThat(o.noisyNeighbourPercent()).isEqualTo(20);
        assertThat(o.withServer(2, "10.98.1.1").noisyNeighbourPercent()).as("the Janus run has it too").isEqualTo(20);
        assertThat(parse(2, "--start-server", JAR, "--noisy-neighbour=100").noisyNeighbour()).isEqualTo(100);
        assertThat(parse(1, "--start-server", JAR, "--noisy-neighbour", "5").noisyNeighbour())
                .as("one core: server, generator and neighbour share it").isEqualTo(5);
        assertThat(parse(2, "--target", "janus", "--noisy-neighbour", "30").noisyNeighbour()).isEqualTo(30);
        refused("--noisy-neighbour must be between 1 and 100, got 0", "--start-server", JAR, "--noisy-neighbour", "0");
        refused("--noisy-neighbour must be between 1 and 100, got 150", "--start-server", JAR, "--noisy-neighbour",
                "150");
        refused("--noisy-neighbour: not a whole number: \"lots\"", "--start-server", JAR, "--noisy-neighbour",
                "lots");
        refused("--noisy-neighbour needs a value", "--start-server", JAR, "--noisy-neighbour");
        refused("--noisy-neighbour needs the server's cores", "--start-server", JAR, "--server-cpus", "none",
                "--noisy-neighbour", "20");
        refused("--noisy-neighbour needs the server's cores", "--url", "http://127.0.0.1:8080", "--secret",
                "s".repeat(32), "--noisy-neighbour", "20");
        assertThat(LoadTestMain.USAGE).contains("--noisy-neighbour PCT").contains("take turns step by step")
                .contains("repeat");
    }

    @Test
    void janusAloneNeedsNoConsultBridgeServer() throws Exception {
        assertThat(parse(2, "--target", "janus").runsConsultBridge()).isFalse();
    }
}
