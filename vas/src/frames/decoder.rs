//! H.264 decoding with openh264: the stream's frames in, borrowed YUV 4:2:0 pictures out.
//!
//! Owns feeding one stream's access units to one decoder: Annex B framing with the parameter
//! sets before every keyframe (written by [`annexb::write_access_unit`], the same rule the
//! recorder uses), a fresh decoder when the camera connection or its parameters change, and
//! turning decoder failures into errors (never panics). It does not know about subscribers.

use std::sync::Arc;

use openh264::OpenH264API;
use openh264::decoder::{Decoder, DecoderConfig};
use openh264::formats::YUVSource;

use crate::media::{Frame, VideoCodec, VideoParams};
use crate::record::annexb;
use crate::{Error, ErrorKind, Result};

/// A decoded picture, borrowed from the decoder until its next call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct YuvView<'a> {
    pub width: u32,
    pub height: u32,
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
    pub y_stride: usize,
    pub uv_stride: usize,
}

/// One stream's decoder.
pub(crate) struct H264Decoder {
    decoder: Option<Decoder>,
    /// Parameters the current decoder was started with (a new set starts a new decoder).
    params: Option<Arc<VideoParams>>,
    epoch: Option<u32>,
    /// Skipping until the next keyframe (start, reset, or after an error).
    need_keyframe: bool,
    /// Reused Annex B buffer.
    annexb: Vec<u8>,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Decoder")
            .field("epoch", &self.epoch)
            .field("need_keyframe", &self.need_keyframe)
            .finish_non_exhaustive()
    }
}

impl H264Decoder {
    pub(crate) fn new() -> Self {
        H264Decoder {
            decoder: None,
            params: None,
            epoch: None,
            need_keyframe: true,
            annexb: Vec::new(),
        }
    }

    /// Forgets the decoder state: decoding resumes at the next keyframe.
    pub(crate) fn reset(&mut self) {
        self.decoder = None;
        self.need_keyframe = true;
    }

    /// Decodes one video frame and hands the picture, if it produced one, to `use_picture`
    /// (the picture is the decoder's own buffer, valid only during the call). `Ok(None)` when
    /// the frame produced no picture (skipped while waiting for a keyframe, or the decoder
    /// needs more); `Unsupported` for a codec other than H.264; `Corrupt` when the decoder
    /// rejects the data (decoding then resumes at the next keyframe).
    pub(crate) fn decode<R>(
        &mut self,
        frame: &Frame,
        use_picture: impl FnOnce(YuvView<'_>) -> R,
    ) -> Result<Option<R>> {
        let Some(params) = frame.video_params() else {
            return Ok(None);
        };
        if params.codec != VideoCodec::H264 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "decoded frames of H.265 streams are not supported (only H.264 is decoded)",
            ));
        }
        let new_params = self
            .params
            .as_ref()
            .is_none_or(|p| !Arc::ptr_eq(p, params) && **p != **params);
        if self.epoch != Some(frame.epoch) || new_params {
            // A new connection or new parameters: start clean at its first keyframe.
            self.epoch = Some(frame.epoch);
            self.params = Some(params.clone());
            self.reset();
        }
        if self.need_keyframe && !frame.keyframe {
            return Ok(None);
        }
        if self.decoder.is_none() {
            let decoder =
                Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new())
                    .map_err(|e| Error::internal(format!("cannot start the H.264 decoder: {e}")))?;
            self.decoder = Some(decoder);
        }
        self.annexb.clear();
        if annexb::write_access_unit(params, &frame.data, frame.keyframe, &mut self.annexb) == 0 {
            self.need_keyframe = true;
            return Err(Error::new(
                ErrorKind::Corrupt,
                "video frame holds no complete NAL unit",
            ));
        }
        self.need_keyframe = false;
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(None);
        };
        let result = match decoder.decode(&self.annexb) {
            Ok(Some(pic)) => {
                let (w, h) = pic.dimensions();
                let (y_stride, uv_stride, _) = pic.strides();
                let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
                // Refuse what would read past the planes (a decoder bug, not ours to trust).
                let fits = w > 0
                    && h > 0
                    && y_stride >= w
                    && uv_stride >= cw
                    && pic.y().len() >= y_stride * (h - 1) + w
                    && pic.u().len() >= uv_stride * (ch - 1) + cw
                    && pic.v().len() >= uv_stride * (ch - 1) + cw;
                if fits {
                    Ok(Some(use_picture(YuvView {
                        width: w as u32,
                        height: h as u32,
                        y: pic.y(),
                        u: pic.u(),
                        v: pic.v(),
                        y_stride,
                        uv_stride,
                    })))
                } else {
                    Err(Error::new(
                        ErrorKind::Corrupt,
                        "the decoder produced a malformed picture",
                    ))
                }
            }
            Ok(None) => Ok(None),
            Err(e) => Err(Error::new(
                ErrorKind::Corrupt,
                format!("the H.264 decoder rejected a frame: {e}"),
            )),
        };
        if result.is_err() {
            // Start over at the next keyframe with a fresh decoder.
            self.reset();
        }
        result
    }
}
