package org.consultbridge.signaling.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Validation of the clientStats message: accepted, clamped, rejected. */
class ClientStatsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static ClientStats.Validation validate(String json) throws Exception {
        JsonNode n = JSON.readTree(json);
        return ClientStats.validate(n);
    }

    @Test
    void aTypicalReportIsAcceptedAsItIs() throws Exception {
        ClientStats.Validation v = validate("""
                {"type":"clientStats","fps":29.7,"width":640,"height":360,"freezeCount":2,"concealment":0.004,
                 "rttMs":42,"candidateType":"relay","firstFrameMs":1830,"freezeMs":1250}""");
        assertThat(v.accepted()).isTrue();
        assertThat(v.clamped()).isEmpty();
        assertThat(v.stats()).isEqualTo(new ClientStats(29.7, 640, 360, 2, 0.004, 42, "relay", 1830, 1250));
    }

    @Test
    void absentAndNullFiguresAreUnknown() throws Exception {
        ClientStats.Validation v = validate("{\"type\":\"clientStats\",\"fps\":null}");
        assertThat(v.accepted()).isTrue();
        assertThat(v.stats()).isEqualTo(new ClientStats(-1, -1, -1, 0, -1, -1, "unknown", -1, -1));
    }

    @Test
    void hugeFiguresAreClampedAndNamed() throws Exception {
        ClientStats.Validation v = validate("""
                {"fps":5000,"width":100000,"height":100000,"concealment":3.5,"rttMs":1e9,"freezeCount":1e12,
                 "firstFrameMs":99999999,"freezeMs":1e15}""");
        assertThat(v.accepted()).isTrue();
        assertThat(v.clamped()).containsExactlyInAnyOrder("fps", "width", "height", "concealment", "rttMs",
                "freezeCount", "firstFrameMs", "freezeMs");
        assertThat(v.stats().freezeMs()).isEqualTo(86_400_000);
        assertThat(v.stats().fps()).isEqualTo(120);
        assertThat(v.stats().width()).isEqualTo(7680);
        assertThat(v.stats().height()).isEqualTo(4320);
        assertThat(v.stats().concealment()).isEqualTo(1.0);
        assertThat(v.stats().rttMs()).isEqualTo(60_000);
    }

    @Test
    void negativeNonNumericNonFiniteAndUnknownCandidateTypesAreRejected() throws Exception {
        for (String bad : new String[] {"{\"fps\":-1}", "{\"rttMs\":\"42\"}", "{\"width\":true}",
                "{\"concealment\":1e999}", "{\"candidateType\":\"wormhole\"}", "{\"candidateType\":7}",
                "{\"freezeCount\":[1]}", "{\"height\":{}}", "{\"freezeMs\":-5}"}) {
            ClientStats.Validation v = validate(bad);
            assertThat(v.accepted()).as(bad).isFalse();
            assertThat(v.error()).as(bad).isNotBlank();
            assertThat(v.stats()).isNull();
        }
    }
}
