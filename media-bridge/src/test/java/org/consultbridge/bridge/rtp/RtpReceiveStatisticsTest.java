package org.consultbridge.bridge.rtp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 3550 A.1/A.3 receive statistics with late packets, retransmissions (RFC 4588) and restarts. */
class RtpReceiveStatisticsTest {

    private static RtpReceiveStatistics inOrder(int from, int to, int... missing) {
        RtpReceiveStatistics s = new RtpReceiveStatistics(90000);
        outer:
        for (int seq = from; seq <= to; seq++) {
            for (int m : missing) {
                if (m == seq) {
                    continue outer;
                }
            }
            s.onPacket(seq & 0xFFFF, 3000L * seq, 33_000_000L * seq);
        }
        return s;
    }

    @Test
    void aRetransmissionFarBehindIsCountedOnceAndIsNoRestart() {
        // 0..999 with 850 lost; its RTX arrives 149 packets later (a slow repair, or a probe carrying an old packet)
        RtpReceiveStatistics s = inOrder(0, 999, 850);
        assertThat(s.fractionLostSinceLastReport()).isEqualTo(256 / 1000);
        s.onRepairedPacket(850);
        s.onPacket(1000, 3000L * 1000, 33_000_000L * 1000);
        // once, this reset the statistics to start at 850: 149 of 151 "lost", 98.7 % in the next report
        assertThat(s.packetsExpected()).isEqualTo(1001);
        assertThat(s.cumulativeLost()).as("repaired: received").isZero();
        assertThat(s.lostBeforeRepair()).as("but the link lost it").isEqualTo(1);
        assertThat(s.packetsRepaired()).isEqualTo(1);
        assertThat(s.fractionLostSinceLastReport()).isZero();
        // a second copy of the same repair, and a repair of a packet that did arrive, count nothing
        s.onRepairedPacket(850);
        s.onRepairedPacket(900);
        assertThat(s.packetsReceived()).isEqualTo(1001);
        assertThat(s.packetsRepaired()).isEqualTo(1);
    }

    @Test
    void aRepairOlderThanTheWindowOrBeforeTheStartIsIgnored() {
        RtpReceiveStatistics s = inOrder(100, 1000, 200);
        s.onRepairedPacket(200); // 800 behind: cannot be told from a copy
        s.onRepairedPacket(50); // before the first packet
        s.onRepairedPacket(40_000); // far away: never a restart
        assertThat(s.packetsExpected()).isEqualTo(901);
        assertThat(s.cumulativeLost()).isEqualTo(1);
        assertThat(s.extendedHighestSeq()).isEqualTo(1000);
    }

    @Test
    void aSingleStrayPacketFarAwayIsNotARestartTwoSequentialOnesAre() {
        RtpReceiveStatistics s = inOrder(0, 999);
        s.onPacket(5000, 0, 0); // A.1 probation: not counted
        s.onPacket(1000, 3000L * 1000, 33_000_000L * 1000);
        assertThat(s.packetsExpected()).isEqualTo(1001);
        assertThat(s.cumulativeLost()).isZero();
        // the sender restarted at 30000: two sequential packets confirm it
        s.onPacket(30_000, 0, 34_000_000_000L);
        s.onPacket(30_001, 3000, 34_033_000_000L);
        s.onPacket(30_002, 6000, 34_066_000_000L);
        assertThat(s.extendedHighestSeq()).isEqualTo(30_002);
        assertThat(s.packetsExpected()).isEqualTo(2);
        assertThat(s.cumulativeLost()).isZero();
    }

    @Test
    void lateOriginalsCountOnceAndAnEarlierFirstPacketMovesTheStart() {
        RtpReceiveStatistics s = new RtpReceiveStatistics(48000);
        int[] order = {10, 11, 13, 12, 12, 14, 9, 15};
        for (int seq : order) {
            s.onPacket(seq, 960L * seq, 20_000_000L * seq);
        }
        assertThat(s.packetsExpected()).as("9..15").isEqualTo(7);
        assertThat(s.packetsReceived()).isEqualTo(7);
        assertThat(s.cumulativeLost()).isZero();
    }

    @Test
    void aGapReopensTheWindowSoALateOriginalAfterItCounts() {
        RtpReceiveStatistics s = inOrder(0, 520, 515);
        // 515's bit was used by seq 3 (515 - 512): after the gap it must read as missing
        assertThat(s.cumulativeLost()).isEqualTo(1);
        assertThat(s.lostBeforeRepair()).as("5 behind the highest: perhaps only late").isZero();
        s.onPacket(515, 3000L * 515, 33_000_000L * 521);
        assertThat(s.cumulativeLost()).isZero();
        assertThat(s.lostBeforeRepair()).isZero();
        // and across a wrap of the sequence numbers
        RtpReceiveStatistics w = inOrder(65_000, 66_000, 65_600);
        w.onRepairedPacket(65_600 & 0xFFFF);
        assertThat(w.extendedHighestSeq()).isEqualTo(66_000);
        assertThat(w.cumulativeLost()).isZero();
        assertThat(w.lostBeforeRepair()).isEqualTo(1);
    }

    @Test
    void aGapCountsAsLostOnceTenLaterPacketsArrivedWithoutIt() {
        RtpReceiveStatistics s = inOrder(0, 105, 100);
        assertThat(s.lostBeforeRepair()).isZero();
        for (int seq = 106; seq <= 110; seq++) {
            s.onPacket(seq, 3000L * seq, 33_000_000L * seq);
        }
        assertThat(s.lostBeforeRepair()).isEqualTo(1);
    }

    @Test
    void repairsDoNotMoveTheJitter() {
        RtpReceiveStatistics s = inOrder(0, 300, 250);
        long before = s.jitterRtpUnits();
        s.onRepairedPacket(250); // restored long after its timestamp: its transit time says nothing of the link
        assertThat(s.jitterRtpUnits()).isEqualTo(before);
    }
}
