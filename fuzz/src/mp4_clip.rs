//! The MP4 clip writer: for any list of samples (video and audio, any timestamps, epochs,
//! keyframe flags, parameter sets) and any window, writing either fails with an error or
//! gives a file whose top-level boxes (`ftyp`, `moov`, `mdat`, in that order) exactly fill
//! it, whose length is what the writer announced, and whose header is what it wrote first.

use std::sync::Arc;

use vas::_internal_test_exports::media::{
    AudioCodec, AudioParams, Frame, Track, VideoCodec, VideoParams,
};
use vas::_internal_test_exports::mp4::{ClipInput, ClipWriter};

/// Bytes of input per sample.
const SAMPLE_BYTES: usize = 6;

/// Checks the invariants above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let Some((head, body)) = data.split_first_chunk::<18>() else {
        return;
    };
    let start = i64::from_be_bytes(head[0..8].try_into().expect("8 bytes"));
    let end = i64::from_be_bytes(head[8..16].try_into().expect("8 bytes"));
    let force_co64 = head[16] & 1 == 1;
    // The window is mostly near the samples, sometimes taken as given.
    let (start, end) = if head[17] & 1 == 0 {
        (
            i64::from(start as i16) * 300,
            i64::from(end as i16).abs() * 300 + i64::from(start as i16) * 300,
        )
    } else {
        (start, end)
    };
    let h264 = Arc::new(VideoParams {
        codec: VideoCodec::H264,
        width: 64,
        height: 48,
        vps: None,
        sps: (&[0x67u8, 100, 0, 31, 0xAC][..]).into(),
        pps: (&[0x68u8, 0xCE, 0x3C, 0x80][..]).into(),
        rfc6381_codec: String::new(),
    });
    let h265 = Arc::new(VideoParams {
        codec: VideoCodec::H265,
        vps: Some((&[0x40u8, 1, 0x0C][..]).into()),
        sps: body
            .get(..body.len().min(40))
            .unwrap_or_default()
            .to_vec()
            .into(),
        ..(*h264).clone()
    });
    let audio = |codec, rate| {
        Arc::new(AudioParams {
            codec,
            sample_rate: rate,
            channels: 1,
            config: (&[0x11u8, 0x88][..]).into(),
        })
    };
    let (aac, aac8k, pcmu) = (
        audio(AudioCodec::Aac, 48_000),
        audio(AudioCodec::Aac, 8_000),
        audio(AudioCodec::Pcmu, 8_000),
    );
    let mut frames = Vec::new();
    let mut pts = 0i64;
    let mut epoch = 0u32;
    for s in body.chunks_exact(SAMPLE_BYTES) {
        let step = i64::from(i16::from_be_bytes([s[0], s[1]]));
        pts = pts.wrapping_add(step * 30);
        let flags = s[2];
        if flags & 0x80 != 0 {
            epoch = epoch.wrapping_add(1);
            pts = i64::from(s[3]) << (s[4] % 62);
        }
        let track = match flags & 0x0F {
            0..=8 => Track::Video(h264.clone()),
            9 => Track::Video(h265.clone()),
            10..=12 => Track::Audio(aac.clone()),
            13 => Track::Audio(aac8k.clone()),
            _ => Track::Audio(pcmu.clone()),
        };
        let len = usize::from(s[5] % 32);
        frames.push(Frame {
            track,
            pts,
            keyframe: flags & 0x10 != 0,
            data: vec![s[5]; len].into(),
            epoch,
            wallclock: Default::default(),
        });
    }
    let mut input = ClipInput::new(&frames, start..end);
    input.force_co64 = force_co64;
    let Ok(clip) = ClipWriter::new(&input) else {
        return;
    };
    let mut out = Vec::new();
    let info = clip
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    assert_eq!(info.bytes, out.len() as u64, "announced length");
    assert!(out.starts_with(clip.header()));
    assert!(info.co64 || !force_co64, "co64 was forced");
    assert!(
        !info.co64 || out.windows(4).any(|w| w == b"co64"),
        "co64 written"
    );
    let mut at = 0usize;
    let mut kinds = Vec::new();
    while at < out.len() {
        let head = out.get(at..at + 8).expect("a whole box header");
        let mut size = u64::from(u32::from_be_bytes(head[..4].try_into().expect("4")));
        if size == 1 {
            let large = out.get(at + 8..at + 16).expect("a 64-bit size");
            size = u64::from_be_bytes(large.try_into().expect("8"));
        }
        assert!(size >= 8, "box size {size} at {at}");
        kinds.push(head[4..8].to_vec());
        at = at
            .checked_add(usize::try_from(size).expect("fits"))
            .expect("no overflow");
        assert!(at <= out.len(), "a box runs past the end");
    }
    assert_eq!(at, out.len(), "top-level boxes fill the file");
    assert_eq!(
        kinds,
        [b"ftyp".to_vec(), b"moov".to_vec(), b"mdat".to_vec()]
    );
    let payload: usize = frames.iter().map(|f| f.data.len()).sum();
    assert!(
        out.len() <= clip.header().len() + payload,
        "no sample written twice"
    );
}
