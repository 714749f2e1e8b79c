//! Configuration: defaults, then a TOML file, then `CASETRAIL_*` environment
//! variables, then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct Config {
    /// Where the embedded database and the signing key live.
    pub data_dir: PathBuf,
    /// The database (`sqlite://PATH`, `postgres://…`); unset: the SQLite file in the
    /// data dir. May carry a password: never logged, never in `Debug`.
    pub database_url: Option<String>,
    /// The signing key, a PKCS#8 PEM file; unset: the key in the data dir.
    pub signing_key_file: Option<PathBuf>,
    /// The address `serve` listens on.
    pub listen: SocketAddr,
    /// Mark cookies `Secure`: set when users reach the server over TLS.
    pub secure_cookies: bool,
    /// How long a sign-in lasts, in hours.
    pub session_hours: i64,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds a client has to send a request's headers (also how long an idle
    /// kept-alive connection stays open).
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's body, once its headers are in.
    pub body_timeout_secs: u64,
    /// Seconds the server has to start answering a request.
    pub request_timeout_secs: u64,
    /// Streams may send to loopback and private addresses (a collector inside the
    /// firm's network).
    pub allow_private_stream_destinations: bool,
    /// When set, `/metrics` needs `Authorization: Bearer <token>`. Never logged.
    pub metrics_token: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            data_dir: PathBuf::from("./casetrail-data"),
            database_url: None,
            signing_key_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookies: false,
            session_hours: 12,
            log_format: "text".into(),
            trusted_proxies: Vec::new(),
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            request_timeout_secs: 60,
            allow_private_stream_destinations: false,
            metrics_token: None,
        }
    }
}

/// What flags override; `None` leaves the layer below in force.
#[derive(Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("database_url", &self.database_url.as_deref().map(crate::database::redacted))
            .finish()
    }
}

/// By hand, so that a password in the database URL never reaches a log.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_deref().map(crate::database::redacted))
            .field("signing_key_file", &self.signing_key_file)
            .field("listen", &self.listen)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_hours", &self.session_hours)
            .field("log_format", &self.log_format)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("header_timeout_secs", &self.header_timeout_secs)
            .field("body_timeout_secs", &self.body_timeout_secs)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("allow_private_stream_destinations", &self.allow_private_stream_destinations)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Config {
    /// Layers the sources. The TOML file is `--config`, else `CASETRAIL_CONFIG`, else
    /// `casetrail.toml` in the working directory when present.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let file = file.map(Path::to_path_buf).or_else(|| std::env::var_os("CASETRAIL_CONFIG").map(PathBuf::from));
        match file {
            Some(path) => {
                anyhow::ensure!(path.exists(), "config file {} does not exist", path.display());
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("casetrail.toml")),
        }
        figment
            .merge(Env::prefixed("CASETRAIL_").ignore(&["config"]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("invalid configuration")
    }

    /// The request time limits; a zero would refuse every request, so it is refused.
    pub fn timeouts(&self) -> anyhow::Result<casetrail_server::Timeouts> {
        let secs = |name: &str, value: u64| {
            anyhow::ensure!(value > 0, "{name} must be at least 1 (seconds)");
            Ok(std::time::Duration::from_secs(value))
        };
        Ok(casetrail_server::Timeouts {
            header: secs("header_timeout_secs", self.header_timeout_secs)?,
            body: secs("body_timeout_secs", self.body_timeout_secs)?,
            handler: secs("request_timeout_secs", self.request_timeout_secs)?,
        })
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("casetrail.db")
    }

    /// The signing keys: `<data_dir>/keys`.
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
}
