// The link verdict shared by the call pages' link indicator (#link data-verdict) and the pre-call check
// (check.html): good / fair (video may be reduced) / bad (audio only likely). Loss as a fraction 0..1, RTT in ms,
// the bandwidth estimate in bit/s (-1 or undefined: unknown, never makes the verdict worse).
export const LINK_THRESHOLDS = {
  fair: { loss: 0.03, rttMs: 300, estimateBps: 500000 },
  bad: { loss: 0.1, rttMs: 600, estimateBps: 150000 },
};

export function judgeLink({ fractionLost = 0, rttMs = -1, estimateBps = -1 }) {
  const over = (t) => fractionLost > t.loss || rttMs > t.rttMs || (estimateBps >= 0 && estimateBps < t.estimateBps);
  if (over(LINK_THRESHOLDS.bad)) return 'bad';
  if (over(LINK_THRESHOLDS.fair)) return 'fair';
  return 'good';
}
