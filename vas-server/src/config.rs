//! Server configuration: command line, then environment, then a TOML file, then defaults.
//!
//! Owns parsing and validating settings and the `--demo` rules. It never opens the database
//! or binds sockets. Secrets (database password, API token) are never printed: `Debug` of
//! [`Settings`] masks them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use serde::{Deserialize, Serialize};

/// Default address of the REST API and dashboard.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default UDP/TCP port for WebRTC media.
pub const DEFAULT_WEBRTC_PORT: u16 = 8189;
/// Default WebSocket signaling port.
pub const DEFAULT_SIGNALING_PORT: u16 = 8081;

/// Command-line flags. Every flag except `--demo` and `--config` can also be set with an
/// environment variable (`VAS_LISTEN`, …) or in the TOML file given by `--config`/`VAS_CONFIG`.
#[derive(Debug, Parser, Default)]
#[command(
    name = "vas-server",
    version,
    about = "VAS reference server: cameras in, live view, recordings and an API out"
)]
pub struct Cli {
    /// Run with embedded defaults: SQLite and media under ./vas-data (or --data-dir), loopback
    /// only; environment variables and config files are ignored.
    #[arg(long)]
    pub demo: bool,
    /// TOML configuration file (keys as the long flags, with underscores).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address for the REST API and dashboard [env: VAS_LISTEN] [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Folder for the SQLite file and media [env: VAS_DATA_DIR] [default: ./vas-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://… [env: VAS_DATABASE_URL] [default: sqlite in the data folder].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Media folder [env: VAS_MEDIA_DIR] [default: <data-dir>/media].
    #[arg(long, value_name = "DIR")]
    pub media_dir: Option<PathBuf>,
    /// Bearer token required on /api requests; mandatory when listening off loopback
    /// [env: VAS_API_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    pub api_token: Option<String>,
    /// Port of the demo's synthetic camera on 127.0.0.1 (with --demo) [default: 8554].
    #[arg(long, value_name = "PORT")]
    pub demo_camera_port: Option<u16>,
    /// Make the demo camera replay SECONDS of video encoded once at start instead of encoding
    /// every frame live (almost no CPU; the on-screen clock repeats with the loop). For load
    /// and browser tests on small machines (with --demo).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=i64::from(vas_synth::config::MAX_LOOP_SECONDS)))]
    pub demo_camera_loop: Option<u32>,
    /// UDP (and ICE-TCP) port for all WebRTC media, on the --listen address
    /// [env: VAS_WEBRTC_PORT] [default: 8189].
    #[arg(long, value_name = "PORT")]
    pub webrtc_port: Option<u16>,
    /// Public IP to advertise to browsers (behind NAT or in a container); repeatable
    /// [env: VAS_PUBLIC_IPS, comma-separated].
    #[arg(long = "public-ip", value_name = "IP")]
    pub public_ips: Vec<std::net::IpAddr>,
    /// Port of the WebSocket signaling server, on the --listen address (it is also at
    /// /api/v1/ws on the main port) [env: VAS_SIGNALING_PORT] [default: 8081].
    #[arg(long, value_name = "PORT")]
    pub signaling_port: Option<u16>,
    /// File holding the key camera secrets are sealed with in the database (64 hex digits;
    /// created with a new key if missing). Every server sharing a database needs the same key
    /// [env: VAS_SECRET_KEY_FILE] [default: <data-dir>/secret.key].
    #[arg(long, value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// Seconds a client may take to send a request's head [env: VAS_HTTP_HEADER_TIMEOUT]
    /// [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_header_timeout: Option<u64>,
    /// Seconds a connection may stay silent (keep-alive, or never sending a request) before it
    /// is closed [env: VAS_HTTP_IDLE_TIMEOUT] [default: 60].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub http_idle_timeout: Option<u64>,
    /// Base seconds a request body may take, on top of one second per 16 KiB
    /// [env: VAS_HTTP_BODY_TIMEOUT] [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_body_timeout: Option<u64>,
    /// Most connections open at once on each port [env: VAS_HTTP_MAX_CONNECTIONS]
    /// [default: 1024].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub http_max_connections: Option<u64>,
    /// Most connections open at once from one client address on each port
    /// [env: VAS_HTTP_MAX_CONNECTIONS_PER_IP] [default: 64].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub http_max_connections_per_ip: Option<u64>,
    /// Seconds SIGTERM (or Ctrl-C) may take: requests refused and /readyz 503 at once,
    /// running requests finished, recordings closed with valid playlists, viewers and
    /// cameras closed, then exit 0; past this the process exits 1 anyway
    /// [env: VAS_SHUTDOWN_GRACE] [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub shutdown_grace: Option<u64>,
    /// Log lines as text or as JSON objects, one per line (with each request's id)
    /// [env: VAS_LOG_FORMAT] [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Print the effective configuration (flags > VAS_… environment > config file >
    /// defaults) as TOML with secrets masked, and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields.message`, the span's fields
    /// (`request_id`, `method`, `path` for a request).
    Json,
}

/// Default: what SIGTERM may take before the process exits regardless.
pub const DEFAULT_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Keys of the TOML configuration file (also what `--print-config` prints).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See `--listen`.
    pub listen: Option<SocketAddr>,
    /// See `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// See `--database-url`.
    pub database_url: Option<String>,
    /// See `--media-dir`.
    pub media_dir: Option<PathBuf>,
    /// See `--api-token`.
    pub api_token: Option<String>,
    /// See `--webrtc-port`.
    pub webrtc_port: Option<u16>,
    /// See `--public-ip`.
    pub public_ips: Option<Vec<std::net::IpAddr>>,
    /// See `--signaling-port`.
    pub signaling_port: Option<u16>,
    /// See `--secret-key-file`.
    pub secret_key_file: Option<PathBuf>,
    /// See `--http-header-timeout`.
    pub http_header_timeout: Option<u64>,
    /// See `--http-idle-timeout`.
    pub http_idle_timeout: Option<u64>,
    /// See `--http-body-timeout`.
    pub http_body_timeout: Option<u64>,
    /// See `--http-max-connections`.
    pub http_max_connections: Option<u64>,
    /// See `--http-max-connections-per-ip`.
    pub http_max_connections_per_ip: Option<u64>,
    /// See `--shutdown-grace`.
    pub shutdown_grace: Option<u64>,
    /// See `--log-format`.
    pub log_format: Option<LogFormat>,
}

/// The resolved settings the server runs with.
#[derive(Clone)]
pub struct Settings {
    /// Demo mode.
    pub demo: bool,
    /// API address.
    pub listen: SocketAddr,
    /// Data folder.
    pub data_dir: PathBuf,
    /// Database URL (default: SQLite in the data folder).
    pub database_url: Option<String>,
    /// Media folder (default: inside the data folder).
    pub media_dir: Option<PathBuf>,
    /// API token.
    pub api_token: Option<String>,
    /// Port of the demo camera (demo mode only).
    pub demo_camera_port: u16,
    /// Loop length of the demo camera's pre-encoded video; `None`: encoded live (demo only).
    pub demo_camera_loop: Option<u32>,
    /// WebRTC media port (on the listen address).
    pub webrtc_port: u16,
    /// Public IPs advertised to browsers.
    pub public_ips: Vec<std::net::IpAddr>,
    /// WebSocket signaling port (on the listen address).
    pub signaling_port: u16,
    /// The secret key file (default: in the data folder).
    pub secret_key_file: Option<PathBuf>,
    /// Connection limits and timeouts of both HTTP ports.
    pub http: crate::serve::HttpLimits,
    /// What a shutdown may take in all.
    pub shutdown_grace: std::time::Duration,
    /// How log lines are written.
    pub log_format: LogFormat,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("demo", &self.demo)
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(vas::config::mask_database_url),
            )
            .field("media_dir", &self.media_dir)
            .field("api_token", &self.api_token.as_ref().map(|_| "***"))
            .field("shutdown_grace", &self.shutdown_grace)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// Reads an environment variable (empty counts as unset).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Settings {
    /// Resolves flags, environment and file (in that order of precedence) into settings.
    ///
    /// Errors are one-line messages for the user.
    pub fn resolve(cli: Cli, env: EnvLookup<'_>) -> Result<Settings, String> {
        let default_listen: SocketAddr = DEFAULT_LISTEN
            .parse()
            .map_err(|e| format!("bad built-in default address: {e}"))?;
        if cli.demo {
            if cli.database_url.is_some() || cli.media_dir.is_some() || cli.config.is_some() {
                return Err(
                    "--demo uses embedded defaults; drop --database-url, --media-dir and --config (or drop --demo)"
                        .into(),
                );
            }
            let demo_http = http_limits(&cli, &|_| None, &FileConfig::default())?;
            let demo_grace = cli
                .shutdown_grace
                .map_or(DEFAULT_SHUTDOWN_GRACE, std::time::Duration::from_secs);
            let listen = cli.listen.unwrap_or(default_listen);
            if !listen.ip().is_loopback() {
                return Err(format!(
                    "--demo listens on loopback only, not {listen}; run without --demo and with --api-token to serve other hosts"
                ));
            }
            return Ok(Settings {
                demo: true,
                listen,
                data_dir: cli
                    .data_dir
                    .unwrap_or_else(|| PathBuf::from(vas::DEFAULT_DATA_DIR)),
                database_url: None,
                media_dir: None,
                api_token: cli.api_token,
                demo_camera_port: cli
                    .demo_camera_port
                    .unwrap_or(crate::demo::DEFAULT_DEMO_CAMERA_PORT),
                demo_camera_loop: cli.demo_camera_loop,
                webrtc_port: cli.webrtc_port.unwrap_or(DEFAULT_WEBRTC_PORT),
                public_ips: cli.public_ips,
                signaling_port: cli.signaling_port.unwrap_or(DEFAULT_SIGNALING_PORT),
                http: demo_http.with_shutdown_grace(demo_grace),
                secret_key_file: cli.secret_key_file,
                shutdown_grace: demo_grace,
                log_format: cli.log_format.unwrap_or_default(),
            });
        }
        if cli.demo_camera_port.is_some() {
            return Err("--demo-camera-port only applies with --demo".into());
        }
        if cli.demo_camera_loop.is_some() {
            return Err("--demo-camera-loop only applies with --demo".into());
        }
        let env_var = |k: &str| env(k).filter(|v| !v.is_empty());
        let file_path = cli
            .config
            .clone()
            .or_else(|| env_var("VAS_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read config file {}: {e}", p.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| {
                    format!("config file {} is invalid: {}", p.display(), e.message())
                })?
            }
            None => FileConfig::default(),
        };
        let shutdown_grace = number(
            cli.shutdown_grace,
            &env_var,
            "VAS_SHUTDOWN_GRACE",
            file.shutdown_grace,
        )?
        .map_or(DEFAULT_SHUTDOWN_GRACE, std::time::Duration::from_secs);
        let log_format = match cli.log_format {
            Some(f) => f,
            None => match env_var("VAS_LOG_FORMAT") {
                Some(v) => <LogFormat as clap::ValueEnum>::from_str(v.trim(), false)
                    .map_err(|_| format!("VAS_LOG_FORMAT={v} is not one of: text, json"))?,
                None => file.log_format.unwrap_or_default(),
            },
        };
        let http = http_limits(&cli, &env_var, &file)?.with_shutdown_grace(shutdown_grace);
        let listen = match cli.listen {
            Some(a) => a,
            None => match env_var("VAS_LISTEN") {
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("VAS_LISTEN={v} is not an address like 127.0.0.1:8080"))?,
                None => file.listen.unwrap_or(default_listen),
            },
        };
        let settings = Settings {
            demo: false,
            listen,
            data_dir: cli
                .data_dir
                .or_else(|| env_var("VAS_DATA_DIR").map(PathBuf::from))
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(vas::DEFAULT_DATA_DIR)),
            database_url: cli
                .database_url
                .or_else(|| env_var("VAS_DATABASE_URL"))
                .or(file.database_url),
            media_dir: cli
                .media_dir
                .or_else(|| env_var("VAS_MEDIA_DIR").map(PathBuf::from))
                .or(file.media_dir),
            api_token: cli
                .api_token
                .or_else(|| env_var("VAS_API_TOKEN"))
                .or(file.api_token),
            demo_camera_port: crate::demo::DEFAULT_DEMO_CAMERA_PORT,
            demo_camera_loop: None,
            webrtc_port: match cli.webrtc_port {
                Some(p) => p,
                None => match env_var("VAS_WEBRTC_PORT") {
                    Some(v) => v
                        .parse()
                        .map_err(|_| format!("VAS_WEBRTC_PORT={v} is not a port number"))?,
                    None => file.webrtc_port.unwrap_or(DEFAULT_WEBRTC_PORT),
                },
            },
            public_ips: if !cli.public_ips.is_empty() {
                cli.public_ips
            } else if let Some(v) = env_var("VAS_PUBLIC_IPS") {
                v.split(',')
                    .map(|ip| {
                        ip.trim()
                            .parse()
                            .map_err(|_| format!("VAS_PUBLIC_IPS: {ip:?} is not an IP address"))
                    })
                    .collect::<Result<_, _>>()?
            } else {
                file.public_ips.unwrap_or_default()
            },
            signaling_port: match cli.signaling_port {
                Some(p) => p,
                None => match env_var("VAS_SIGNALING_PORT") {
                    Some(v) => v
                        .parse()
                        .map_err(|_| format!("VAS_SIGNALING_PORT={v} is not a port number"))?,
                    None => file.signaling_port.unwrap_or(DEFAULT_SIGNALING_PORT),
                },
            },
            http,
            secret_key_file: cli
                .secret_key_file
                .or_else(|| env_var("VAS_SECRET_KEY_FILE").map(PathBuf::from))
                .or(file.secret_key_file),
            shutdown_grace,
            log_format,
        };
        if !settings.listen.ip().is_loopback() && settings.api_token.is_none() {
            return Err(format!(
                "refusing to listen on {} without an API token: set --api-token (or VAS_API_TOKEN), or listen on loopback",
                settings.listen
            ));
        }
        Ok(settings)
    }
}

impl Settings {
    /// The effective configuration as TOML (the config file's keys, every one filled in),
    /// secrets masked: the API token as `***`, the database URL's password as `***`.
    pub fn to_toml(&self) -> String {
        let secs = |d: std::time::Duration| Some(d.as_secs());
        let count = |n: usize| Some(n as u64);
        let file = FileConfig {
            listen: Some(self.listen),
            data_dir: Some(self.data_dir.clone()),
            database_url: Some(match &self.database_url {
                Some(url) => vas::config::mask_database_url(url),
                None => format!(
                    "sqlite://{}",
                    self.data_dir.join(vas::SQLITE_FILE_NAME).display()
                ),
            }),
            media_dir: Some(
                self.media_dir
                    .clone()
                    .unwrap_or_else(|| self.data_dir.join(vas::MEDIA_DIR_NAME)),
            ),
            api_token: self.api_token.as_ref().map(|_| "***".to_owned()),
            webrtc_port: Some(self.webrtc_port),
            public_ips: Some(self.public_ips.clone()),
            signaling_port: Some(self.signaling_port),
            secret_key_file: Some(
                self.secret_key_file
                    .clone()
                    .unwrap_or_else(|| self.data_dir.join(vas::config::KEY_FILE_NAME)),
            ),
            http_header_timeout: secs(self.http.header_read_timeout),
            http_idle_timeout: secs(self.http.idle_timeout),
            http_body_timeout: secs(self.http.body_timeout),
            http_max_connections: count(self.http.max_connections),
            http_max_connections_per_ip: count(self.http.max_connections_per_ip),
            shutdown_grace: secs(self.shutdown_grace),
            log_format: Some(self.log_format),
        };
        let mut out = String::from(
            "# vas-server's effective configuration: flags > VAS_… environment > config file > defaults.\n",
        );
        if self.demo {
            out.push_str("# --demo: embedded defaults, the demo camera on 127.0.0.1:");
            out.push_str(&self.demo_camera_port.to_string());
            out.push('\n');
        }
        match toml::to_string(&file) {
            Ok(text) => out.push_str(&text),
            Err(e) => out.push_str(&format!("# cannot print the configuration: {e}\n")),
        }
        out
    }
}

/// One numeric setting: flag, then environment, then file.
fn number(
    flag: Option<u64>,
    env: &dyn Fn(&str) -> Option<String>,
    var: &str,
    file: Option<u64>,
) -> Result<Option<u64>, String> {
    if flag.is_some() {
        return Ok(flag);
    }
    if let Some(v) = env(var) {
        return match v.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(format!("{var}={v} is not a whole number of at least 1")),
        };
    }
    match file {
        Some(0) => Err(format!(
            "{} in the config file must be at least 1",
            var.trim_start_matches("VAS_").to_ascii_lowercase()
        )),
        other => Ok(other),
    }
}

fn http_limits(
    cli: &Cli,
    env: &dyn Fn(&str) -> Option<String>,
    file: &FileConfig,
) -> Result<crate::serve::HttpLimits, String> {
    let d = crate::serve::HttpLimits::default();
    let secs = |n: Option<u64>, default: std::time::Duration| {
        n.map_or(default, std::time::Duration::from_secs)
    };
    let count = |n: Option<u64>, default: usize| {
        n.map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX))
    };
    Ok(crate::serve::HttpLimits {
        header_read_timeout: secs(
            number(
                cli.http_header_timeout,
                env,
                "VAS_HTTP_HEADER_TIMEOUT",
                file.http_header_timeout,
            )?,
            d.header_read_timeout,
        ),
        idle_timeout: secs(
            number(
                cli.http_idle_timeout,
                env,
                "VAS_HTTP_IDLE_TIMEOUT",
                file.http_idle_timeout,
            )?,
            d.idle_timeout,
        ),
        body_timeout: secs(
            number(
                cli.http_body_timeout,
                env,
                "VAS_HTTP_BODY_TIMEOUT",
                file.http_body_timeout,
            )?,
            d.body_timeout,
        ),
        max_connections: count(
            number(
                cli.http_max_connections,
                env,
                "VAS_HTTP_MAX_CONNECTIONS",
                file.http_max_connections,
            )?,
            d.max_connections,
        ),
        max_connections_per_ip: count(
            number(
                cli.http_max_connections_per_ip,
                env,
                "VAS_HTTP_MAX_CONNECTIONS_PER_IP",
                file.http_max_connections_per_ip,
            )?,
            d.max_connections_per_ip,
        ),
        min_body_rate: d.min_body_rate,
        shutdown_drain: d.shutdown_drain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn precedence_is_flag_env_file_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vas.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/file\"\nmedia_dir = \"/srv/media\"\n",
        )
        .unwrap();
        let env = |k: &str| (k == "VAS_DATA_DIR").then(|| "/srv/env".to_owned());
        let cli = Cli {
            config: Some(file),
            ..Default::default()
        };
        let s = Settings::resolve(cli, &env).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.data_dir, PathBuf::from("/srv/env"));
        assert_eq!(s.media_dir, Some(PathBuf::from("/srv/media")));
        let cli = Cli {
            data_dir: Some("/srv/flag".into()),
            ..Default::default()
        };
        assert_eq!(
            Settings::resolve(cli, &env).unwrap().data_dir,
            PathBuf::from("/srv/flag")
        );
    }

    #[test]
    fn off_loopback_needs_a_token_and_demo_stays_on_loopback() {
        let cli = Cli {
            listen: Some("0.0.0.0:8080".parse().unwrap()),
            ..Default::default()
        };
        assert!(
            Settings::resolve(cli, &no_env)
                .unwrap_err()
                .contains("API token")
        );
        let cli = Cli {
            listen: Some("0.0.0.0:8080".parse().unwrap()),
            api_token: Some("t".into()),
            ..Default::default()
        };
        assert!(Settings::resolve(cli, &no_env).is_ok());
        let cli = Cli {
            demo: true,
            listen: Some("0.0.0.0:8080".parse().unwrap()),
            api_token: Some("t".into()),
            ..Default::default()
        };
        assert!(
            Settings::resolve(cli, &no_env)
                .unwrap_err()
                .contains("loopback")
        );
        let env = |_: &str| Some("postgres://prod/db".to_owned());
        let s = Settings::resolve(
            Cli {
                demo: true,
                ..Default::default()
            },
            &env,
        )
        .unwrap();
        assert_eq!(s.database_url, None, "demo ignores the environment");
    }

    #[test]
    fn bad_files_and_values_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vas.toml");
        std::fs::write(&file, "lisen = 1\n").unwrap();
        let cli = Cli {
            config: Some(file),
            ..Default::default()
        };
        let e = Settings::resolve(cli, &no_env).unwrap_err();
        assert!(e.contains("invalid") && !e.contains('\n'), "{e}");
        let env = |k: &str| (k == "VAS_LISTEN").then(|| "nope".to_owned());
        assert!(Settings::resolve(Cli::default(), &env).is_err());
        let s = Settings {
            demo: false,
            listen: DEFAULT_LISTEN.parse().unwrap(),
            data_dir: ".".into(),
            database_url: Some("postgres://u:secret@h/d".into()),
            media_dir: None,
            api_token: Some("tok-secret".into()),
            demo_camera_port: 8554,
            demo_camera_loop: None,
            webrtc_port: DEFAULT_WEBRTC_PORT,
            public_ips: Vec::new(),
            signaling_port: DEFAULT_SIGNALING_PORT,
            secret_key_file: None,
            http: Default::default(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            log_format: LogFormat::Text,
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret"), "{shown}");
        let printed = s.to_toml();
        assert!(
            !printed.contains("tok-secret") && !printed.contains(":secret@"),
            "{printed}"
        );
    }
}
