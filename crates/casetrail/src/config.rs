//! Configuration: defaults, then a TOML file, then `CASETRAIL_*` environment
//! variables, then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Where the embedded database and the signing key live.
    pub data_dir: PathBuf,
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
}

impl Default for Config {
    fn default() -> Config {
        Config {
            data_dir: PathBuf::from("./casetrail-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookies: false,
            session_hours: 12,
            log_format: "text".into(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// What flags override; `None` leaves the layer below in force.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
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

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("casetrail.db")
    }

    /// The signing keys: `<data_dir>/keys`.
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
}
