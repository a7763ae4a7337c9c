//! The C ABI of VAS: `libvas_ffi.a` / `libvas_ffi.so` and the header `include/vas.h`.
//!
//! A thin shell over [`vas::BlockingVas`]: it converts arguments, checks every pointer, maps
//! each [`vas::ErrorKind`] to its numbered [`vas_result`] once ([`error`]), and owns no
//! engine logic. The conventions of every function (results, out-pointers written only on
//! success, handles, strings, times, threads) are written once at the top of the header, and
//! each function's comment says what is particular to it.
//!
//! Most of it is generated from the engine's description by `vas-gen` ([`generated`]: the
//! records, inputs, name tables, events and calls, and [`result`]); what is written here by
//! hand follows rustls-ffi's conventions (opaque handles, a panic boundary in every export, a
//! per-thread last error) and is what no description says: the argument checks and handle
//! rules ([`error`]), opening and closing the engine ([`engine`]), decoded and encoded frames
//! pulled or by callback ([`frames`]), events pulled or by callback ([`events`]), and the
//! library-owned callback threads ([`listener`]). cbindgen renders the header.
#![allow(unsafe_code)] // an FFI crate: every export takes raw pointers from C
#![allow(non_camel_case_types)]
// C names, as the header spells them
// Each function's pointer rules are the header's conventions plus what its comment says.
#![allow(clippy::missing_safety_doc)]

pub mod engine;
pub mod error;
pub mod events;
pub mod frames;
pub mod generated;
pub mod listener;
pub mod result;

pub use result::vas_result;
