//! The synthetic camera's audio: a 1 kHz tone as G.711 µ-law, 8 kHz, 20 ms per packet.
//!
//! Owns the µ-law encoder and the one packet payload every audio packet carries (a 1 kHz
//! tone has exactly 20 periods in 20 ms, so every packet is the same). It must never touch
//! sockets or timers; the feed decides when packets go out.

use bytes::Bytes;

/// Audio sample rate, which is also the RTP clock rate of PCMU.
pub(crate) const SAMPLE_RATE: u32 = 8_000;
/// Samples in one RTP packet (20 ms).
pub(crate) const PACKET_SAMPLES: u32 = 160;
/// Duration of one audio packet.
pub(crate) const PACKET_DURATION: std::time::Duration = std::time::Duration::from_millis(20);
/// Frequency of the tone.
const TONE_HZ: u32 = 1_000;
/// Peak amplitude of the tone in 16-bit linear units (about −12 dBFS).
const TONE_AMPLITUDE: f64 = 8_192.0;
/// G.711 µ-law bias added before finding the segment.
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude µ-law encodes without clipping.
const ULAW_CLIP: i32 = 32_635;

// Every packet carries whole periods of the tone, so one payload serves all packets.
const _: () = assert!((PACKET_SAMPLES * TONE_HZ).is_multiple_of(SAMPLE_RATE));
const _: () = assert!(PACKET_SAMPLES * 1000 / SAMPLE_RATE == 20);

/// Encodes one 16-bit linear sample as G.711 µ-law.
pub(crate) fn linear_to_ulaw(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample);
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // Segment: position of the highest set bit above bit 7 (0..=7).
    let exponent = (31 - biased.leading_zeros() as i32 - 7).clamp(0, 7);
    let mantissa = (biased >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Decodes one G.711 µ-law byte to 16-bit linear (used by tests to check the tone).
#[cfg(test)]
pub(crate) fn ulaw_to_linear(code: u8) -> i16 {
    let code = !code;
    let exponent = i32::from((code >> 4) & 0x07);
    let mantissa = i32::from(code & 0x0F);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if code & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// The payload of every audio packet: 20 ms of the 1 kHz tone in µ-law.
pub(crate) fn tone_payload() -> Bytes {
    (0..PACKET_SAMPLES)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * f64::from(TONE_HZ) * f64::from(i)
                / f64::from(SAMPLE_RATE);
            linear_to_ulaw((TONE_AMPLITUDE * phase.sin()).round() as i16)
        })
        .collect::<Vec<u8>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_codes() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_ulaw(-1), 0x7F);
    }

    #[test]
    fn ulaw_round_trip_is_within_the_segment_step() {
        for s in (-32_000i32..32_000).step_by(97) {
            let back = i32::from(ulaw_to_linear(linear_to_ulaw(s as i16)));
            // µ-law keeps about 4 significant bits of the magnitude.
            let tolerance = (s.abs() / 16).max(8);
            assert!((back - s).abs() <= tolerance, "{s} came back as {back}");
        }
    }

    #[test]
    fn tone_packet_is_20ms_of_1khz() {
        let p = tone_payload();
        assert_eq!(p.len(), PACKET_SAMPLES as usize);
        let samples: Vec<i16> = p.iter().map(|&c| ulaw_to_linear(c)).collect();
        // 8 samples per period: the signal repeats every 8 samples and crosses zero twice per period.
        for i in 8..samples.len() {
            assert_eq!(samples[i], samples[i - 8]);
        }
        let peak = samples.iter().map(|s| i32::from(*s).abs()).max().unwrap();
        assert!((7_500..=8_800).contains(&peak), "peak {peak}");
        let crossings = samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        assert!(
            (38..=41).contains(&crossings),
            "{crossings} zero crossings in 20 ms"
        );
    }
}
