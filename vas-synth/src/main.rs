//! `vas-synth`: the synthetic camera as a program, for tests of the shells (C, Kotlin) and for
//! trying VAS without a camera.
//!
//! ```text
//! vas-synth [--bind 127.0.0.1:8554] [--size 640x360] [--fps 30] [--loop SECONDS]
//!           [--audio] [--path /synthetic] [--username U --password P]
//!           [--netsim delay=30,min=0,max=40,duplicate=3,drop=0.5,seed=1]
//! ```
//!
//! `--netsim` puts a faulty network between the camera and its UDP clients (percentages of
//! packets, delays in milliseconds; see `NetworkFaults`), as GStreamer's `netsim` would.
//!
//! It prints the camera's URL (credentials left out) on the first line of standard output,
//! then serves until SIGINT or SIGTERM, or until its standard input closes when started with
//! `--until-stdin-closes` (so a test that dies takes its camera with it).

use std::process::ExitCode;

use std::time::Duration;

use vas_synth::{CameraConfig, CameraMode, Credentials, NetworkFaults, Share, SyntheticCamera};

const USAGE: &str = "usage: vas-synth [--bind ADDR] [--size WxH] [--fps N] [--loop SECONDS] \
[--audio] [--path /PATH] [--username U --password P] \
[--netsim delay=PCT,min=MS,max=MS,duplicate=PCT,drop=PCT,seed=N] [--until-stdin-closes]";

/// Parses `--netsim`'s `key=value,…` list.
fn parse_netsim(spec: &str) -> Result<NetworkFaults, String> {
    let mut f = NetworkFaults::default();
    for item in spec.split(',').filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("--netsim {item:?} is not key=value"))?;
        let number = |what: &str| -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("--netsim {key}={value:?} is not {what}"))
        };
        match key {
            "delay" => f.delay = Share::percent(number("a percentage")?),
            "duplicate" => f.duplicate = Share::percent(number("a percentage")?),
            "drop" => f.drop = Share::percent(number("a percentage")?),
            "min" => f.min_delay = Duration::from_secs_f64(number("milliseconds")? / 1e3),
            "max" => f.max_delay = Duration::from_secs_f64(number("milliseconds")? / 1e3),
            "seed" => {
                f.seed = value
                    .parse()
                    .map_err(|_| format!("--netsim seed={value:?} is not a number"))?;
            }
            other => return Err(format!("--netsim has no {other:?}\n{USAGE}")),
        }
    }
    Ok(f)
}

/// What the command line asks for.
#[derive(Debug)]
struct Args {
    config: CameraConfig,
    until_stdin_closes: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut config = CameraConfig {
        fps: 30,
        gop: 30,
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
        ..CameraConfig::default()
    };
    let mut username = None;
    let mut password = None;
    let mut until_stdin_closes = false;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bind" => {
                let v = value()?;
                config.bind = v
                    .parse()
                    .map_err(|e| format!("--bind {v:?} is not ip:port: {e}"))?;
            }
            "--size" => {
                let v = value()?;
                let (w, h) = v
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                    .ok_or_else(|| format!("--size {v:?} is not WIDTHxHEIGHT"))?;
                config.width = w;
                config.height = h;
            }
            "--fps" => {
                let v = value()?;
                config.fps = v
                    .parse()
                    .map_err(|_| format!("--fps {v:?} is not a number"))?;
                config.gop = config.fps.max(1);
            }
            "--loop" => {
                let v = value()?;
                let seconds: u32 = v
                    .parse()
                    .map_err(|_| format!("--loop {v:?} is not a number of seconds"))?;
                config.mode = match seconds {
                    0 => CameraMode::Live,
                    s => CameraMode::PreEncodedLoop { seconds: s },
                };
            }
            "--audio" => config.audio = true,
            "--path" => config.path = value()?,
            "--username" => username = Some(value()?),
            "--password" => password = Some(value()?),
            "--netsim" => config.network = parse_netsim(&value()?)?,
            "--until-stdin-closes" => until_stdin_closes = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    config.credentials = match (username, password) {
        (None, None) => None,
        (Some(u), Some(p)) => Some(Credentials::new(u, p)),
        _ => return Err("--username and --password go together".to_owned()),
    };
    config.validate().map_err(|e| e.to_string())?;
    Ok(Args {
        config,
        until_stdin_closes,
    })
}

/// Resolves when standard input reaches its end (or fails).
async fn stdin_closed() {
    use tokio::io::AsyncReadExt;
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 256];
    while let Ok(n) = stdin.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn signalled() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("vas-synth: {e}");
            return ExitCode::from(2);
        }
    };
    let camera = match SyntheticCamera::start(args.config).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vas-synth: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The one line a caller reads; stdout is flushed by the newline only on a terminal.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{}", camera.url())
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    if args.until_stdin_closes {
        tokio::select! {
            () = stdin_closed() => {}
            () = signalled() => {}
        }
    } else {
        signalled().await;
    }
    camera.stop().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse(s.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn flags_set_the_camera() {
        let a = args("--bind 127.0.0.1:0 --size 320x240 --fps 10 --loop 0 --audio").unwrap();
        assert_eq!(
            (a.config.width, a.config.height, a.config.fps),
            (320, 240, 10)
        );
        assert_eq!(a.config.mode, CameraMode::Live);
        assert!(a.config.audio && !a.until_stdin_closes);
    }

    #[test]
    fn netsim_flag_sets_the_network_faults() {
        let a = args("--netsim delay=30,min=0,max=40,duplicate=3,drop=0.5,seed=7").unwrap();
        let n = a.config.network;
        assert_eq!(
            (n.delay, n.duplicate, n.drop, n.seed),
            (
                Share::percent(30.0),
                Share::percent(3.0),
                Share::percent(0.5),
                7
            )
        );
        assert_eq!(
            (n.min_delay, n.max_delay),
            (Duration::ZERO, Duration::from_millis(40))
        );
        assert!(args("--netsim drop=x").unwrap_err().contains("percentage"));
        assert!(args("--netsim jitter=3").unwrap_err().contains("jitter"));
        assert!(args("--netsim drop=101").is_err(), "more than all packets");
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        assert!(args("--size 320").unwrap_err().contains("WIDTHxHEIGHT"));
        assert!(args("--fps").unwrap_err().contains("needs a value"));
        assert!(args("--username u").unwrap_err().contains("go together"));
        assert!(args("--bogus").unwrap_err().contains("unknown argument"));
        assert!(
            args("--size 17x17").is_err(),
            "odd sizes are refused by the camera's rules"
        );
    }
}
