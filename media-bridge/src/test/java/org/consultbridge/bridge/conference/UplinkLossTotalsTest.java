package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.consultbridge.bridge.rtp.RtpReceiveStatistics;
import org.junit.jupiter.api.Test;

/**
 * The uplink loss the ops dashboard shows (issue #5's "68 %" glitch): the loss between two snapshots, computed as
 * OpsMonitor does from one endpoint's totals, stays the link's loss when a simulcast layer starts late, a probe
 * retransmits an old packet, a stream is re-bound or goes away.
 */
class UplinkLossTotalsTest {

    private final UplinkLossTotals totals = new UplinkLossTotals();
    private final Object endpoint = new Object();
    private long lastExpected = -1;
    private long lastLost;

    /** One collection as QualitySnapshots makes it; returns the interval's loss as the signalling side computes it. */
    private double collect(List<RtpReceiveStatistics> streams) {
        long[] t = totals.endpoint(endpoint);
        for (RtpReceiveStatistics s : streams) {
            totals.stream(t, s, s.packetsExpected(), s.lostBeforeRepair());
        }
        totals.finish();
        double loss = -1;
        if (lastExpected >= 0 && t[0] > lastExpected) {
            loss = (double) Math.max(0, t[1] - lastLost) / (t[0] - lastExpected);
        }
        lastExpected = t[0];
        lastLost = t[1];
        return loss;
    }

    @Test
    void rightAfterJoinALateLayerAndAProbeOfAnOldPacketShowNoLossOnALossFreeLink() {
        // audio 50/s and the low layer 14/s from the start, the top layer 100/s from 1 s; samples every 2 s; at 3.5 s
        // Chromium probes the bandwidth with RTX carrying a top-layer packet 150 behind, older than the bridge's
        // retransmission cache (1 s), so it reaches the statistics. Before the fix this sample showed 65 % loss.
        RtpReceiveStatistics audio = new RtpReceiveStatistics(48000);
        RtpReceiveStatistics low = new RtpReceiveStatistics(90000);
        RtpReceiveStatistics top = new RtpReceiveStatistics(90000);
        List<RtpReceiveStatistics> flowing = new ArrayList<>(List.of(audio, low));
        int a = 0;
        int l = 0;
        int t = 0;
        List<Double> losses = new ArrayList<>();
        for (int ms = 0; ms <= 8000; ms += 10) {
            long now = ms * 1_000_000L;
            if (ms % 20 == 0) {
                audio.onPacket(a, 960L * a++, now);
            }
            if (ms % 70 == 0) {
                low.onPacket(l, 3000L * l++, now);
            }
            if (ms >= 1000) {
                if (t == 0) {
                    flowing.add(top);
                }
                top.onPacket(t, 900L * t++, now);
            }
            if (ms == 3500) {
                top.onRepairedPacket(t - 150);
            }
            if (ms % 2000 == 0 && ms > 0) {
                losses.add(collect(flowing));
            }
        }
        assertThat(losses).hasSize(4).allSatisfy(v -> assertThat(v).isBetween(-1.0, 0.0));
    }

    @Test
    void theIntervalLossIsTheLinksWhenStreamsComeGoAndRestart() {
        RtpReceiveStatistics audio = new RtpReceiveStatistics(48000);
        RtpReceiveStatistics video = new RtpReceiveStatistics(90000);
        int seqA = 0;
        int seqV = 0;
        for (int i = 0; i < 1000; i++) {
            audio.onPacket(seqA, 960L * seqA++, i * 20_000_000L);
            video.onPacket(seqV, 3000L * seqV++, i * 20_000_000L);
        }
        assertThat(collect(List.of(audio, video))).isEqualTo(-1); // the first sample: a baseline
        // the video stream is re-bound to a new SSRC (fresh statistics): 100 packets, 9 of them lost
        RtpReceiveStatistics video2 = new RtpReceiveStatistics(90000);
        for (int i = 0; i < 100; i++) {
            if (i % 10 != 5 || i > 90) {
                video2.onPacket(i, 3000L * i, i * 20_000_000L);
            }
        }
        for (int i = 0; i < 80; i++) {
            audio.onPacket(seqA, 960L * seqA++, i * 20_000_000L);
        }
        // audio 80 expected, video2 100 (the old video's 1000 are gone, not subtracted): 9 lost of 180
        assertThat(collect(List.of(audio, video2))).isEqualTo(0.05);
        // the audio stream goes away: loss of what is left only
        for (int i = 100; i < 200; i++) {
            video2.onPacket(i, 3000L * i, i * 20_000_000L);
        }
        assertThat(collect(List.of(video2))).isZero();
    }
}
