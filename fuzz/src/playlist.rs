//! The HLS playlist parser (recovery and playback read playlists from disk): whatever text
//! it accepts renders to a playlist that parses back to the same thing.

use vas::MediaPlaylist;

/// Checks the invariants above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(playlist) = MediaPlaylist::parse(text) else {
        return;
    };
    let rendered = playlist.render();
    let again = MediaPlaylist::parse(&rendered).expect("a rendered playlist parses");
    assert_eq!(again.render(), rendered, "render ∘ parse is stable");
    assert!(again.total_duration_secs().is_finite());
}
