//! The C ABI from Rust: the result codes against `ErrorKind`'s table, and the argument
//! checks (NULL, bad UTF-8, short buffers, foreign handles) without a C compiler. The C
//! programs under `tests/c/` exercise the rest (`scripts/c-abi.sh`, in `make test`).

#![allow(unsafe_code)] // calls the C ABI as C would

use std::ffi::{CStr, c_char};

use vas::ErrorKind;
use vas_ffi::error::{
    vas_id, vas_id_format, vas_last_error_code, vas_last_error_message, vas_result_name,
};
use vas_ffi::vas_result;

fn name(code: i32) -> String {
    // SAFETY: vas_result_name returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(vas_result_name(code)) }
        .to_str()
        .unwrap()
        .to_owned()
}

fn last_message() -> String {
    let mut buf = vec![0 as c_char; 4096];
    // SAFETY: a buffer of its stated length.
    let r = unsafe { vas_last_error_message(buf.as_mut_ptr(), buf.len(), std::ptr::null_mut()) };
    assert_eq!(r, vas_result::VAS_OK);
    // SAFETY: written NUL-terminated on success.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn every_error_kind_has_its_code_and_name() {
    assert_eq!(name(0), "ok");
    for kind in ErrorKind::ALL {
        assert_eq!(name(i32::from(kind.code())), kind.as_str(), "{kind:?}");
    }
    assert_eq!(
        name(vas_result::VAS_BUFFER_TOO_SMALL as i32),
        "buffer_too_small"
    );
    assert_eq!(name(-1), "unknown");
    assert_eq!(name(9999), "unknown");
    // The enum's numbers are the table's.
    assert_eq!(
        vas_result::VAS_INVALID_INPUT as i32,
        i32::from(ErrorKind::InvalidInput.code())
    );
    assert_eq!(
        vas_result::VAS_CORRUPT as i32,
        i32::from(ErrorKind::Corrupt.code())
    );
    assert_eq!(
        vas_result::VAS_TIMEOUT as i32,
        i32::from(ErrorKind::Timeout.code())
    );
}

#[test]
fn bad_arguments_are_errors_with_messages() {
    use vas_ffi::engine::{vas_engine, vas_engine_free, vas_open};
    use vas_ffi::generated::{
        vas_add_device, vas_engine_options, vas_engine_options_init, vas_new_device,
        vas_new_device_init,
    };

    // NULL out-pointer.
    // SAFETY (all calls): arguments as the header allows, NULL included.
    let r = unsafe { vas_open(std::ptr::null(), std::ptr::null_mut()) };
    assert_eq!(r, vas_result::VAS_INVALID_INPUT);
    assert!(last_message().contains("out is NULL"), "{}", last_message());
    assert_eq!(vas_last_error_code(), vas_result::VAS_INVALID_INPUT);

    // An engine in a throwaway folder; a device name that is not UTF-8.
    let dir = tempfile::tempdir().unwrap();
    let data = std::ffi::CString::new(dir.path().to_str().unwrap()).unwrap();
    let mut o = std::mem::MaybeUninit::<vas_engine_options>::uninit();
    assert_eq!(
        unsafe { vas_engine_options_init(o.as_mut_ptr()) },
        vas_result::VAS_OK
    );
    let mut o = unsafe { o.assume_init() };
    o.data_dir = data.as_ptr();
    let mut engine: *mut vas_engine = std::ptr::null_mut();
    assert_eq!(
        unsafe { vas_open(&o, &mut engine) },
        vas_result::VAS_OK,
        "{}",
        last_message()
    );

    let mut d = std::mem::MaybeUninit::<vas_new_device>::uninit();
    assert_eq!(
        unsafe { vas_new_device_init(d.as_mut_ptr()) },
        vas_result::VAS_OK
    );
    let mut d = unsafe { d.assume_init() };
    let bad = [0xffu8, 0xfe, 0];
    let url = c"rtsp://10.0.0.1/s";
    d.name = bad.as_ptr().cast();
    d.rtsp_url = url.as_ptr();
    let mut out = std::ptr::null_mut();
    let r = unsafe { vas_add_device(engine, &d, &mut out) };
    assert_eq!(r, vas_result::VAS_INVALID_INPUT);
    assert!(
        last_message().contains("vas_new_device.name is not valid UTF-8"),
        "{}",
        last_message()
    );

    // A handle of another type.
    let r = unsafe { vas_add_device(std::ptr::from_ref(&d).cast(), &d, &mut out) };
    assert_eq!(r, vas_result::VAS_INVALID_INPUT);
    assert!(
        last_message().contains("not a vas_engine handle"),
        "{}",
        last_message()
    );

    // A too-small buffer says how much it needs.
    let mut small = [0 as c_char; 8];
    assert_eq!(
        unsafe { vas_id_format(vas_id::default(), small.as_mut_ptr(), small.len()) },
        vas_result::VAS_BUFFER_TOO_SMALL
    );
    let mut needed = 0usize;
    let r = unsafe { vas_last_error_message(small.as_mut_ptr(), small.len(), &mut needed) };
    assert_eq!(r, vas_result::VAS_BUFFER_TOO_SMALL);
    assert!(needed > small.len(), "{needed}");
    assert_eq!(small, [0; 8], "nothing written to a short buffer");

    unsafe { vas_engine_free(engine) };
}
