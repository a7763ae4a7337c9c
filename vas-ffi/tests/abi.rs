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

/// `RtpTransport` -> `rtp_transport`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn read(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_name_table_is_in_the_header_and_its_parse_is_tested_from_c() {
    let header = read("include/vas.h");
    let c_test = read("vas-ffi/tests/c/abi_test.c");
    for e in vas::description::description().enums {
        if e.name == "ErrorKind" {
            continue; // `vas_result`
        }
        let c = format!("vas_{}", snake(e.name));
        for wanted in [
            format!("}} {c};"),
            format!("{c}_name(uint32_t value)"),
            format!("{c}_parse(const char *name, uint32_t *out)"),
        ] {
            assert!(header.contains(&wanted), "include/vas.h lacks `{wanted}`");
        }
        for v in &e.variants {
            let constant = format!("VAS_{}_{}", snake(e.name), v.name).to_uppercase();
            assert!(header.contains(&constant), "include/vas.h lacks {constant}");
        }
        assert!(
            c_test.contains(&format!("{c}_parse,")),
            "abi_test.c does not test {c}_parse"
        );
    }
    assert!(
        !header.contains("synthetic"),
        "the header has a synthetic camera"
    );
}

#[test]
fn every_call_of_the_description_is_in_the_header() {
    let header = read("include/vas.h");
    for c in vas::description::description().calls {
        // `vas_<call>`; `_get` where that is a type's name; the subscriptions by hand.
        let found = ["", "_get", "_subscribe"]
            .iter()
            .any(|suffix| header.contains(&format!(" vas_{}{suffix}(", c.name)));
        assert!(
            found,
            "include/vas.h has no function for the call {}",
            c.name
        );
    }
}

#[test]
fn a_bad_name_is_invalid_input_naming_it_and_the_allowed_ones() {
    use vas_ffi::generated::{vas_order, vas_order_name, vas_order_parse, vas_pixel_format_parse};

    let mut out = 77u32;
    // SAFETY (all calls): NUL-terminated strings and a valid out-pointer.
    let r = unsafe { vas_order_parse(c"sideways".as_ptr(), &mut out) };
    assert_eq!(r, vas_result::VAS_INVALID_INPUT);
    assert_eq!(out, 77, "nothing written on failure");
    let m = last_message();
    for part in ["\"sideways\"", "oldest", "newest"] {
        assert!(m.contains(part), "{m}");
    }
    let r = unsafe { vas_pixel_format_parse(c"yuv".as_ptr(), &mut out) };
    assert_eq!(r, vas_result::VAS_INVALID_INPUT);
    let m = last_message();
    for part in ["\"yuv\"", "i420", "nv12", "rgb24", "bgr24", "gray"] {
        assert!(m.contains(part), "{m}");
    }
    let r = unsafe { vas_order_parse(c"newest".as_ptr(), &mut out) };
    assert_eq!(r, vas_result::VAS_OK);
    assert_eq!(out, vas_order::VAS_ORDER_NEWEST as u32);
    // SAFETY: the name is static.
    let name = unsafe { CStr::from_ptr(vas_order_name(out)) };
    assert_eq!(name, c"newest");
    assert!(vas_order_name(0).is_null() && vas_order_name(3).is_null());
}

#[test]
fn a_call_whose_result_is_not_wanted_takes_a_null_out() {
    use vas_ffi::engine::{vas_engine, vas_engine_free, vas_open};
    use vas_ffi::generated::{
        vas_add_device, vas_device_list_free, vas_device_list_len, vas_devices,
        vas_engine_options_init, vas_new_device_init,
    };

    let dir = tempfile::tempdir().unwrap();
    let data = std::ffi::CString::new(dir.path().to_str().unwrap()).unwrap();
    let mut o = std::mem::MaybeUninit::uninit();
    // SAFETY (all calls): arguments as the header allows, NULL out-pointers included.
    assert_eq!(
        unsafe { vas_engine_options_init(o.as_mut_ptr()) },
        vas_result::VAS_OK
    );
    let mut o = unsafe { o.assume_init() };
    o.data_dir = data.as_ptr();
    let mut engine: *mut vas_engine = std::ptr::null_mut();
    assert_eq!(unsafe { vas_open(&o, &mut engine) }, vas_result::VAS_OK);

    let mut d = std::mem::MaybeUninit::uninit();
    assert_eq!(
        unsafe { vas_new_device_init(d.as_mut_ptr()) },
        vas_result::VAS_OK
    );
    let mut d = unsafe { d.assume_init() };
    d.name = c"porch".as_ptr();
    d.rtsp_url = c"rtsp://10.0.0.2/s".as_ptr();
    let r = unsafe { vas_add_device(engine, &d, std::ptr::null_mut()) };
    assert_eq!(r, vas_result::VAS_OK, "{}", last_message());
    let mut list = std::ptr::null_mut();
    assert_eq!(
        unsafe { vas_devices(engine, 0, &mut list) },
        vas_result::VAS_OK
    );
    assert_eq!(
        unsafe { vas_device_list_len(list) },
        1,
        "the device was added"
    );
    unsafe { vas_device_list_free(list) };
    unsafe { vas_engine_free(engine) };
}
