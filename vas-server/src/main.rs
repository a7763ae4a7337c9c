//! `vas-server`: parses configuration, starts the engine, serves the API until SIGTERM/Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use tracing::{error, info};
use vas_server::config::{Cli, LogFormat, Settings};
use vas_server::{AppState, app};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let print_config = cli.print_config;
    let settings = match Settings::resolve(cli, &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if print_config {
        use std::io::Write;
        return match std::io::stdout().write_all(settings.to_toml().as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("cannot print the configuration: {e}")),
        };
    }
    init_logging(settings.log_format);
    // A panic (a bug) is one error line in the log, never a backtrace per request; the
    // request that hit it is answered 500 by the app's panic layer.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(%location, %message, "panic (a bug; please report it)");
    }));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Log lines to stderr, as text or JSON (`RUST_LOG` filters them).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

async fn run(settings: Settings) -> Result<(), String> {
    // The demo camera starts first so restored streams find it at once.
    let camera = if settings.demo {
        Some(
            vas_server::demo::start_camera(settings.demo_camera_port, settings.demo_camera_loop)
                .await?,
        )
    } else {
        None
    };
    let mut builder = vas::Vas::builder().data_dir(&settings.data_dir);
    if let Some(url) = &settings.database_url {
        builder = builder.database_url(url);
    }
    if let Some(dir) = &settings.media_dir {
        builder = builder.media_dir(dir);
    }
    if let Some(path) = &settings.secret_key_file {
        let key = vas::config::SecretKey::load_or_create(path).map_err(|e| e.to_string())?;
        builder = builder.secret_key(key);
    }
    let webrtc_bind = std::net::SocketAddr::new(settings.listen.ip(), settings.webrtc_port);
    builder = builder.webrtc(vas::config::WebRtcConfig {
        bind: webrtc_bind,
        public_ips: settings.public_ips.clone(),
        ..Default::default()
    });
    let vas = builder.build().await.map_err(|e| e.to_string())?;
    if let Some(webrtc) = vas.webrtc_addresses() {
        info!(addr = %webrtc.local, candidates = ?webrtc.candidates, "WebRTC media port ready");
    }
    if let Some(camera) = &camera {
        vas_server::demo::register(&vas, camera)
            .await
            .map_err(|e| format!("cannot register the demo camera: {e}"))?;
        info!(url = %camera.url(), "demo camera running");
    }
    let state = AppState::with_token(vas.clone(), settings.api_token.as_deref());
    let drain = state.drain.clone();
    let grace = settings.shutdown_grace;
    tokio::spawn({
        let drain = drain.clone();
        async move {
            shutdown_signal().await;
            info!(
                grace_s = grace.as_secs(),
                "shutting down: new work refused, running requests, recordings, viewers and cameras finishing"
            );
            drain.start();
            tokio::time::sleep(grace).await;
            error!(
                grace_s = grace.as_secs(),
                "shutdown took longer than its grace (--shutdown-grace); exiting now: the next start recovers any recording left open"
            );
            std::process::exit(1);
        }
    });
    let signaling_addr = std::net::SocketAddr::new(settings.listen.ip(), settings.signaling_port);
    let signaling = tokio::net::TcpListener::bind(signaling_addr)
        .await
        .map_err(|e| format!("cannot listen for WebSocket signaling on {signaling_addr}: {e}"))?;
    info!(
        "WebSocket signaling on ws://{}",
        signaling.local_addr().map_err(|e| e.to_string())?
    );
    let signaling_app = vas_server::signaling::signaling_app(state.clone());
    let limits = settings.http;
    let signaling_task = tokio::spawn(vas_server::serve::serve(
        signaling,
        signaling_app,
        limits,
        drain.started(),
    ));
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    info!(demo = settings.demo, "VAS listening on http://{addr}");
    vas_server::serve::serve(listener, app(state), limits, drain.started())
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    // Both ports drain side by side, each within `limits.shutdown_drain`.
    let _ = signaling_task.await;
    vas.close().await;
    if let Some(camera) = camera {
        camera.stop().await;
    }
    info!("VAS stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
