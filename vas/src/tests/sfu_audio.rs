//! Scenario: a stream with G.711 µ-law audio: the viewer gets PCMU on the 8 kHz clock next to
//! the video; a stream with AAC audio gets video only (browsers' WebRTC has no AAC).

use std::sync::Arc;
use std::time::Duration;

use crate::media::{AudioCodec, AudioParams, Frame, Track};
use crate::sfu::CoreConfig;
use crate::tests::sfu_support::*;
use bytes::Bytes;

fn audio_frame(params: &Arc<AudioParams>, pts: i64) -> Frame {
    Frame {
        track: Track::Audio(params.clone()),
        pts,
        keyframe: true,
        data: Bytes::from(vec![0xd5; 160]),
        epoch: 0,
        wallclock: chrono::Utc::now(),
    }
}

#[test]
fn pcmu_is_forwarded_and_aac_is_not() {
    let pcmu = Arc::new(AudioParams {
        codec: AudioCodec::Pcmu,
        sample_rate: 8000,
        channels: 1,
        config: Bytes::new(),
    });
    let aac = Arc::new(AudioParams {
        codec: AudioCodec::Aac,
        sample_rate: 16000,
        channels: 1,
        config: Bytes::from_static(&[0x14, 0x08]),
    });
    let mut w = World::new(CoreConfig::default());
    let mut cam = Device::new();
    let video = cam.params.clone();
    let a = w
        .connect_client("g711", Some(&video), Some(&pcmu))
        .expect("admitted");
    let b = w
        .connect_client("aac", Some(&video), Some(&aac))
        .expect("admitted");
    assert!(w.run_until(Duration::from_secs(5), |w| {
        w.clients.iter().all(|c| c.connected)
    }));

    for _ in 0..30 {
        let f = cam.next();
        w.publish("g711", &f);
        w.publish("aac", &f);
        // Two 20 ms audio frames per 33 ms video frame, roughly; exact pts spacing of 1800.
        for k in 0..2 {
            let pts = f.pts + k * 1800;
            w.publish("g711", &audio_frame(&pcmu, pts));
            w.publish("aac", &audio_frame(&aac, pts));
        }
        w.run_for(Duration::from_millis(33));
    }
    let audio: Vec<&Got> = w.clients[a].got.iter().filter(|g| g.audio).collect();
    assert_eq!(audio.len(), 60);
    assert!(audio.iter().all(|g| g.payload.len() == 160));
    // 1800 ticks at 90 kHz are 160 samples at 8 kHz.
    assert_eq!(audio[1].timestamp.wrapping_sub(audio[0].timestamp), 160);
    assert_eq!(w.clients[a].frames(), 30, "video alongside");

    assert_eq!(
        w.clients[b].got.iter().filter(|g| g.audio).count(),
        0,
        "AAC never sent"
    );
    assert_eq!(w.clients[b].frames(), 30);
    assert_eq!(w.sfu.room_stats("aac").expect("room").skipped_frames, 60);
}
