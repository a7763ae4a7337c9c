//! AAC in MPEG-TS: ADTS headers built from an AudioSpecificConfig.
//!
//! Owns reading the three AudioSpecificConfig fields an ADTS header needs (object type,
//! sampling frequency index, channel configuration) and writing the 7-byte ADTS header that
//! MPEG-TS (stream_type 0x0F) requires in front of every raw AAC access unit. It must never
//! look inside, re-encode or copy the AAC payload itself.

use crate::media::{AudioCodec, AudioParams};
use crate::{Error, ErrorKind, Result};

/// Length of an ADTS header without CRC (`protection_absent = 1`), which is all we write.
pub const ADTS_HEADER_LEN: usize = 7;

/// Length of the CRC an ADTS header carries when `protection_absent` is 0.
const ADTS_CRC_LEN: usize = 2;

/// Largest ADTS frame (header included): `frame_length` is a 13-bit field.
pub const MAX_ADTS_FRAME_LEN: usize = (1 << 13) - 1;

/// Largest raw AAC access unit that fits one ADTS frame.
pub const MAX_ADTS_PAYLOAD_LEN: usize = MAX_ADTS_FRAME_LEN - ADTS_HEADER_LEN;

/// Sampling frequencies by `samplingFrequencyIndex` (ISO/IEC 14496-3, table 1.18).
const SAMPLING_FREQUENCIES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// `samplingFrequencyIndex` value meaning "an explicit 24-bit frequency follows".
const EXPLICIT_FREQUENCY_INDEX: u32 = 0xF;

/// `audioObjectType` escape value: six more bits follow.
const OBJECT_TYPE_ESCAPE: u32 = 31;

/// AAC Low Complexity, the object type assumed when a track has no AudioSpecificConfig.
const OBJECT_TYPE_AAC_LC: u8 = 2;

/// SBR and PS object types: their config wraps a core AAC object type, which ADTS carries.
const OBJECT_TYPE_SBR: u32 = 5;
const OBJECT_TYPE_PS: u32 = 29;

/// Highest `channel_configuration` ADTS can signal without a program config element.
const MAX_CHANNEL_CONFIG: u8 = 7;

/// ADTS `adts_buffer_fullness` value meaning variable bit rate.
const BUFFER_FULLNESS_VBR: u32 = 0x7FF;

/// The fields of an ADTS header that stay the same for every frame of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdtsConfig {
    /// MPEG-4 audio object type (1 Main, 2 LC, 3 SSR, 4 LTP); ADTS stores it minus one.
    object_type: u8,
    /// Index into the sampling frequency table.
    sampling_index: u8,
    /// Channel configuration (1..=7).
    channel_config: u8,
}

impl AdtsConfig {
    /// Reads an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1).
    ///
    /// HE-AAC configs (SBR/PS) yield their core AAC-LC layer, which is what ADTS signals
    /// (the decoder finds SBR implicitly). Fails with `Unsupported` for object types ADTS cannot
    /// carry, channel configuration 0 (a program config element) and sampling rates outside the
    /// standard table; with `Corrupt` if the config (from the camera) is truncated.
    pub fn from_audio_specific_config(asc: &[u8]) -> Result<Self> {
        let truncated = || Error::new(ErrorKind::Corrupt, "AudioSpecificConfig is truncated");
        let mut bits = BitReader::new(asc);
        let mut object_type = read_object_type(&mut bits).ok_or_else(truncated)?;
        let sampling_index = read_sampling_index(&mut bits).ok_or_else(truncated)??;
        let channel_config = bits.read(4).ok_or_else(truncated)?;
        if object_type == OBJECT_TYPE_SBR || object_type == OBJECT_TYPE_PS {
            // extensionSamplingFrequencyIndex (output rate), then the core object type.
            read_sampling_index(&mut bits).ok_or_else(truncated)??;
            object_type = read_object_type(&mut bits).ok_or_else(truncated)?;
        }
        if !(1..=4).contains(&object_type) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("AAC object type {object_type} cannot be carried in ADTS"),
            ));
        }
        // Both came from 4-bit fields and were range-checked, so the casts cannot truncate.
        Self::new(object_type as u8, sampling_index, channel_config as u8)
    }

    /// The ADTS config for a track: from its AudioSpecificConfig, or, when the track has none,
    /// AAC-LC at the track's sample rate and channel count.
    pub fn from_params(params: &AudioParams) -> Result<Self> {
        if params.codec != AudioCodec::Aac {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{:?} audio is not AAC", params.codec),
            ));
        }
        if !params.config.is_empty() {
            return Self::from_audio_specific_config(&params.config);
        }
        let sampling_index = SAMPLING_FREQUENCIES
            .iter()
            .position(|&f| f == params.sample_rate)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!("AAC sample rate {} has no ADTS index", params.sample_rate),
                )
            })?;
        let channels = u8::try_from(params.channels).unwrap_or(u8::MAX);
        // Eight channels (7.1) is channel configuration 7.
        let channel_config = if channels == 8 {
            MAX_CHANNEL_CONFIG
        } else {
            channels
        };
        // The index is below the table length (13), so it fits a u8.
        Self::new(OBJECT_TYPE_AAC_LC, sampling_index as u8, channel_config)
    }

    fn new(object_type: u8, sampling_index: u8, channel_config: u8) -> Result<Self> {
        if channel_config == 0 || channel_config > MAX_CHANNEL_CONFIG {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("AAC channel configuration {channel_config} cannot be carried in ADTS"),
            ));
        }
        if usize::from(sampling_index) >= SAMPLING_FREQUENCIES.len() {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("AAC sampling frequency index {sampling_index} is reserved"),
            ));
        }
        Ok(AdtsConfig {
            object_type,
            sampling_index,
            channel_config,
        })
    }

    /// The sampling rate in Hz (of the core AAC layer for HE-AAC).
    pub fn sample_rate(&self) -> u32 {
        SAMPLING_FREQUENCIES[usize::from(self.sampling_index)]
    }

    /// The MPEG-4 channel configuration (1..=7).
    #[cfg(test)]
    pub fn channel_config(&self) -> u8 {
        self.channel_config
    }

    /// The MPEG-4 audio object type (2 for AAC-LC).
    #[cfg(test)]
    pub fn object_type(&self) -> u8 {
        self.object_type
    }

    /// The ADTS header for an access unit of `payload_len` bytes.
    ///
    /// Fails with `TooLarge` above [`MAX_ADTS_PAYLOAD_LEN`].
    pub fn header(&self, payload_len: usize) -> Result<[u8; ADTS_HEADER_LEN]> {
        if payload_len > MAX_ADTS_PAYLOAD_LEN {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "AAC access unit of {payload_len} bytes exceeds ADTS's {MAX_ADTS_PAYLOAD_LEN}"
                ),
            ));
        }
        // Bounded by MAX_ADTS_FRAME_LEN (13 bits) just above.
        let frame_len = (payload_len + ADTS_HEADER_LEN) as u32;
        let profile = u32::from(self.object_type - 1);
        let sf = u32::from(self.sampling_index);
        let ch = u32::from(self.channel_config);
        Ok([
            0xFF,
            // syncword low nibble, ID = 0 (MPEG-4), layer = 00, protection_absent = 1.
            0xF1,
            ((profile << 6) | (sf << 2) | (ch >> 2)) as u8,
            (((ch & 0x3) << 6) | (frame_len >> 11)) as u8,
            ((frame_len >> 3) & 0xFF) as u8,
            (((frame_len & 0x7) << 5) | (BUFFER_FULLNESS_VBR >> 6)) as u8,
            // Low six bits of buffer fullness, then number_of_raw_data_blocks_in_frame = 0.
            ((BUFFER_FULLNESS_VBR & 0x3F) << 2) as u8,
        ])
    }
}

/// One ADTS frame as its header describes it (see [`AdtsConfig::parse_header`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdtsFrame {
    /// The track fields of the header.
    pub config: AdtsConfig,
    /// Header bytes (7, or 9 with a CRC) before the raw access unit.
    pub header_len: usize,
    /// The whole frame, header included.
    pub frame_len: usize,
}

impl AdtsConfig {
    /// Reads the ADTS header at the start of `data` (the reverse of [`AdtsConfig::header`]).
    ///
    /// Fails with `Corrupt` when the syncword is missing, the header or the frame it declares
    /// runs past `data`, the frame is shorter than its header, a field holds a value we never
    /// write (reserved sampling index, channel configuration 0) or the frame holds more than
    /// one raw data block.
    pub fn parse_header(data: &[u8]) -> Result<AdtsFrame> {
        let bad = |what: &str| Error::new(ErrorKind::Corrupt, format!("ADTS frame: {what}"));
        let Some(h) = data.first_chunk::<ADTS_HEADER_LEN>() else {
            return Err(bad("header is cut short"));
        };
        if h[0] != 0xFF || h[1] & 0xF0 != 0xF0 {
            return Err(bad("no syncword"));
        }
        let header_len = if h[1] & 1 == 1 {
            ADTS_HEADER_LEN
        } else {
            ADTS_HEADER_LEN + ADTS_CRC_LEN
        };
        let object_type = (h[2] >> 6) + 1;
        let sampling_index = (h[2] >> 2) & 0xF;
        let channel_config = ((h[2] & 1) << 2) | (h[3] >> 6);
        let frame_len =
            (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        if h[6] & 3 != 0 {
            return Err(bad("more than one raw data block"));
        }
        if frame_len < header_len {
            return Err(bad("frame is shorter than its header"));
        }
        if frame_len > data.len() {
            return Err(bad("frame runs past its data"));
        }
        let config =
            Self::new(object_type, sampling_index, channel_config).map_err(|e| bad(e.message()))?;
        Ok(AdtsFrame {
            config,
            header_len,
            frame_len,
        })
    }

    /// The two-byte AudioSpecificConfig these fields describe (object type, sampling index,
    /// channel configuration; no extensions).
    pub fn audio_specific_config(&self) -> [u8; 2] {
        let v = (u16::from(self.object_type) << 11)
            | (u16::from(self.sampling_index) << 7)
            | (u16::from(self.channel_config) << 3);
        v.to_be_bytes()
    }

    /// The channel count (channel configuration 7 is eight channels, 7.1).
    pub fn channels(&self) -> u16 {
        if self.channel_config == MAX_CHANNEL_CONFIG {
            8
        } else {
            u16::from(self.channel_config)
        }
    }
}

/// `GetAudioObjectType()`: five bits, escaped to six more.
fn read_object_type(bits: &mut BitReader<'_>) -> Option<u32> {
    let t = bits.read(5)?;
    if t == OBJECT_TYPE_ESCAPE {
        Some(32 + bits.read(6)?)
    } else {
        Some(t)
    }
}

/// A sampling frequency index; an explicit frequency is mapped back to its index if it has one.
fn read_sampling_index(bits: &mut BitReader<'_>) -> Option<Result<u8>> {
    let index = bits.read(4)?;
    if index != EXPLICIT_FREQUENCY_INDEX {
        // A 4-bit field.
        return Some(Ok(index as u8));
    }
    let freq = bits.read(24)?;
    Some(
        SAMPLING_FREQUENCIES
            .iter()
            .position(|&f| f == freq)
            // Below the table length (13).
            .map(|i| i as u8)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!("AAC sampling frequency {freq} Hz has no ADTS index"),
                )
            }),
    )
}

/// Reads big-endian bit fields; `None` once the data runs out.
struct BitReader<'a> {
    data: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        BitReader { data, bit: 0 }
    }

    /// Reads `n` ≤ 32 bits.
    fn read(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.bit / 8)?;
            let b = (byte >> (7 - self.bit % 8)) & 1;
            v = (v << 1) | u32::from(b);
            self.bit += 1;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn params(config: &[u8], rate: u32, channels: u16) -> AudioParams {
        AudioParams {
            codec: AudioCodec::Aac,
            sample_rate: rate,
            channels,
            config: Bytes::copy_from_slice(config),
        }
    }

    #[test]
    fn header_matches_a_known_adts_frame() {
        // AAC-LC 44.1 kHz stereo (config 0x12 0x10); a 371-byte frame as ffmpeg writes it.
        let c = AdtsConfig::from_audio_specific_config(&[0x12, 0x10]).unwrap();
        assert_eq!(c.sample_rate(), 44_100);
        let h = c.header(371 - ADTS_HEADER_LEN).unwrap();
        assert_eq!(h, [0xFF, 0xF1, 0x50, 0x80, 0x2E, 0x7F, 0xFC]);
    }

    #[test]
    fn he_aac_uses_its_core_layer() {
        // HE-AAC: object type 5, 24 kHz core, stereo, extension 48 kHz, core AAC-LC.
        // 00101 0110 0010 0011 00010 ...
        let asc = [0b0010_1011, 0b0001_0001, 0b1000_1000, 0];
        let c = AdtsConfig::from_audio_specific_config(&asc).unwrap();
        assert_eq!(c.object_type(), 2);
        assert_eq!(c.sample_rate(), 24_000);
        assert_eq!(c.channel_config(), 2);
    }

    #[test]
    fn bad_configs_are_errors_not_panics() {
        assert_eq!(
            AdtsConfig::from_audio_specific_config(&[])
                .unwrap_err()
                .kind(),
            ErrorKind::Corrupt
        );
        // Channel configuration 0 (needs a PCE).
        assert_eq!(
            AdtsConfig::from_audio_specific_config(&[0x11, 0x80])
                .unwrap_err()
                .kind(),
            ErrorKind::Unsupported
        );
        // Object type 34 (escaped).
        assert!(AdtsConfig::from_audio_specific_config(&[0xF8, 0x54, 0x40, 0]).is_err());
        // Reserved sampling index 13.
        assert!(AdtsConfig::from_audio_specific_config(&[0x16, 0x90]).is_err());
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ = AdtsConfig::from_audio_specific_config(&[a, b]);
            }
        }
        let c = AdtsConfig::from_audio_specific_config(&[0x11, 0x90]).unwrap();
        assert_eq!(
            c.header(MAX_ADTS_PAYLOAD_LEN + 1).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
        assert!(c.header(MAX_ADTS_PAYLOAD_LEN).is_ok());
    }

    #[test]
    fn params_without_config_mean_aac_lc() {
        let c = AdtsConfig::from_params(&params(&[], 16_000, 1)).unwrap();
        assert_eq!(
            (c.object_type(), c.sample_rate(), c.channel_config()),
            (2, 16_000, 1)
        );
        assert!(AdtsConfig::from_params(&params(&[], 12_345, 1)).is_err());
        assert!(AdtsConfig::from_params(&params(&[], 48_000, 0)).is_err());
        let mut opus = params(&[], 48_000, 2);
        opus.codec = AudioCodec::Opus;
        assert_eq!(
            AdtsConfig::from_params(&opus).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `record::adts::AdtsConfig::from_audio_specific_config` is used.
    #[test]
    fn from_audio_specific_config_example() {
        use crate::record::adts::AdtsConfig;
        // AAC-LC, 48 kHz, stereo.
        let c = AdtsConfig::from_audio_specific_config(&[0x11, 0x90]).unwrap();
        assert_eq!(c.sample_rate(), 48_000);
        assert_eq!(c.channel_config(), 2);
    }

    /// How `record::adts::AdtsConfig::header` is used.
    #[test]
    fn header_example() {
        use crate::record::adts::AdtsConfig;
        let c = AdtsConfig::from_audio_specific_config(&[0x11, 0x90]).unwrap();
        let h = c.header(100).unwrap();
        assert_eq!(&h[..2], &[0xFF, 0xF1]); // syncword, MPEG-4, no CRC
    }

    /// How `record::adts::AdtsConfig::parse_header` is used.
    #[test]
    fn parse_header_example() {
        use crate::record::adts::AdtsConfig;
        let c = AdtsConfig::from_audio_specific_config(&[0x11, 0x90]).unwrap();
        let mut frame = c.header(3).unwrap().to_vec();
        frame.extend_from_slice(&[1, 2, 3]);
        let f = AdtsConfig::parse_header(&frame).unwrap();
        assert_eq!((f.config, f.header_len, f.frame_len), (c, 7, 10));
        assert_eq!(f.config.audio_specific_config(), [0x11, 0x90]);
    }
}
