//! The C ABI of VAS: `libvas_ffi.a` / `libvas_ffi.so` and the header `include/vas.h`.
//!
//! A thin shell over [`vas::BlockingVas`]: it converts arguments, checks every pointer, maps
//! each [`vas::ErrorKind`] to its numbered [`vas_result`] once ([`error`]), and owns no
//! engine logic. The conventions of every function (results, out-pointers written only on
//! success, handles, strings, times, threads) are written once at the top of the header, and
//! each function's comment says what is particular to it.
//!
//! Written by hand, following rustls-ffi's conventions (opaque handles, a panic boundary in
//! every export, a per-thread last error): no crate generates a C surface from a Rust API,
//! and cbindgen only renders the header from these declarations.
//!
//! Rooms: [`error`] (codes, the last error, the panic boundary, argument checks),
//! [`engine`] (create and close), [`devices`] (cameras and streams), [`events`],
//! [`frames`] (decoded and encoded frames, pulled or by callback), [`listener`] (the
//! library-owned callback threads), [`media`] (snapshots, bookmarks, recordings, WebRTC),
//! [`synth`] (the synthetic camera, for examples and tests).
#![allow(unsafe_code)] // an FFI crate: every export takes raw pointers from C
#![allow(non_camel_case_types)]
// C names, as the header spells them
// Each function's pointer rules are the header's conventions plus what its comment says.
#![allow(clippy::missing_safety_doc)]

pub mod devices;
pub mod engine;
pub mod error;
pub mod events;
pub mod frames;
pub mod listener;
pub mod media;
pub mod result;

pub use result::vas_result;
