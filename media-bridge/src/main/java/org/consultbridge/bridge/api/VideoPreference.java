package org.consultbridge.bridge.api;

/**
 * What a receiver's allocation keeps when its downlink cannot carry everything (issue #8, clinical profiles).
 * Simulcast layers are numbered low to high quality; this decides which of the layers that fit is chosen for the
 * main video.
 */
public enum VideoPreference {
    /** The highest layer that fits (the default). */
    BALANCED,
    /**
     * Smooth motion (neurology: tremor, facial palsy): the highest fitting layer that runs at (nearly) the full
     * frame rate of the source; a layer whose sender dropped frames is passed over for a lower, smoother one.
     */
    FRAMERATE,
    /**
     * Sharp pictures (dermatology): the highest fitting layer whatever its frame rate (the sender's profile trades
     * frame rate for resolution in its encodings).
     */
    RESOLUTION
}
