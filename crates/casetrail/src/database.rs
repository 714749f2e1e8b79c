//! Which database the commands use: the `database_url` setting (docs/API.md §12),
//! parsed once into a [`Database`] and opened by [`open_store`] — the one place in
//! casetrail that names a storage backend.
//!
//! A database URL may carry a password. Nothing here ever puts the URL itself into
//! an error or a log line: errors name the scheme at most, logs use [`redacted`],
//! and a backend's own error text has the URL's secrets cut out before it is shown.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use casetrail_store::Store;
use casetrail_store_sqlite::SqliteStore;

use crate::config::Config;

/// A database, as `database_url` names it.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded file; a relative path is read from the working directory.
    Sqlite(PathBuf),
    /// PostgreSQL: the whole URL, for the driver.
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Database::Postgres(url) => f.debug_tuple("Postgres").field(&redacted(url)).finish(),
        }
    }
}

impl Database {
    /// The database `config` names: its `database_url`, or without one the SQLite
    /// file in the data dir.
    pub fn of(config: &Config) -> anyhow::Result<Database> {
        match config.database_url.as_deref().map(str::trim) {
            None | Some("") => Ok(Database::Sqlite(config.database_path())),
            Some(url) => Database::parse(url),
        }
    }

    /// Parses a database URL. The error names the scheme at most, never the rest.
    pub fn parse(url: &str) -> anyhow::Result<Database> {
        let Some((scheme, rest)) = url.split_once("://") else {
            anyhow::bail!("database_url is not a URL: expected sqlite://PATH or postgres://…");
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                anyhow::ensure!(!rest.is_empty(), "database_url sqlite:// names no file: expected sqlite://PATH");
                Ok(Database::Sqlite(PathBuf::from(rest)))
            }
            "postgres" | "postgresql" => Ok(Database::Postgres(url.to_string())),
            other => {
                // A scheme is letters, digits, `+`, `-` and `.`; anything else is not
                // shown, since it may be part of a secret.
                let shown =
                    if !other.is_empty() && other.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
                        format!("{other:?}")
                    } else {
                        "given".to_string()
                    };
                anyhow::bail!("database_url: the {shown} scheme is not supported; use sqlite://PATH or postgres://…")
            }
        }
    }

    /// The embedded file in the data dir is the default: its directory is created
    /// (owner-only) when missing, as it always was. A file named by URL must be in a
    /// directory that exists.
    fn is_in_data_dir(&self, config: &Config) -> bool {
        matches!(self, Database::Sqlite(path) if *path == config.database_path())
    }

    /// How a log line names it: the file, or the server without credentials.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
            Database::Postgres(url) => redacted(url),
        }
    }
}

/// Opens the database `config` names.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let database = Database::of(config)?;
    match &database {
        Database::Sqlite(path) => {
            if database.is_in_data_dir(config) {
                ensure_data_dir(&config.data_dir)?;
            }
            open_sqlite(path)
        }
        Database::Postgres(url) => open_postgres(url).await.map_err(|err| without_secrets(err, url)),
    }
}

fn open_sqlite(path: &Path) -> anyhow::Result<Arc<dyn Store>> {
    let store = SqliteStore::open(path).with_context(|| format!("cannot open the database {}", path.display()))?;
    Ok(Arc::new(store))
}

/// Opens a PostgreSQL database: a pool, with the schema migrated under an advisory
/// lock so servers starting together apply each migration once.
async fn open_postgres(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store = casetrail_store_postgres::PostgresStore::connect(url)
        .await
        .with_context(|| format!("cannot open the database {}", redacted(url)))?;
    Ok(Arc::new(store))
}

/// Creates the data dir when missing, owner-only: it holds the database and the
/// signing keys. (A dir that exists already is left as its owner set it.)
pub fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the data dir {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict the data dir {}", dir.display()))?;
    }
    Ok(())
}

/// The URL without its credentials and parameters: `postgres://user@host:5432/db`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "(not a URL)".to_string() };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    format!("{scheme}://{authority}{path}")
}

/// What in a URL is secret: the password of its user info and any `password`
/// parameter (decoded and as written).
fn secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Some((_, rest)) = url.split_once("://") else { return found };
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or_default();
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && let Some((_, password)) = userinfo.split_once(':')
    {
        found.push(password.to_string());
        found.push(percent_decode(password));
    }
    for pair in query.split(['&', '#']) {
        if let Some((name, value)) = pair.split_once('=')
            && name.eq_ignore_ascii_case("password")
        {
            found.push(value.to_string());
            found.push(percent_decode(value));
        }
    }
    found.retain(|s| !s.is_empty());
    found
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A backend's error with every secret of `url` cut out of its text (a driver may
/// quote what it was given).
fn without_secrets(err: anyhow::Error, url: &str) -> anyhow::Error {
    let mut text = format!("{err:#}");
    for secret in secrets(url) {
        text = text.replace(&secret, "***");
    }
    anyhow::anyhow!(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(Database::parse("sqlite://data/x.db").unwrap(), Database::Sqlite("data/x.db".into()));
        assert_eq!(Database::parse("sqlite:///abs/x.db").unwrap(), Database::Sqlite("/abs/x.db".into()));
        let pg = "postgres://u:pw@db.example:5432/casetrail";
        assert_eq!(Database::parse(pg).unwrap(), Database::Postgres(pg.into()));
        let pg = "postgresql://db.example/casetrail";
        assert_eq!(Database::parse(pg).unwrap(), Database::Postgres(pg.into()));
        assert!(Database::parse("sqlite://").is_err());
    }

    #[test]
    fn a_refused_url_never_shows_its_secret() {
        for url in ["mysql://u:hunter2@h/db", "hunter2", "post:gres://u:hunter2@h", "u:hunter2@h/db", "://hunter2"] {
            let err = format!("{:#}", Database::parse(url).unwrap_err());
            assert!(!err.contains("hunter2"), "{url}: {err}");
        }
        let err = Database::parse("mysql://u:hunter2@h/db").unwrap_err().to_string();
        assert!(err.contains("\"mysql\" scheme is not supported"), "{err}");
    }

    #[test]
    fn redaction_keeps_where_and_drops_how() {
        assert_eq!(
            redacted("postgres://ada:hunter2@db.example:5432/ct?sslmode=require"),
            "postgres://ada@db.example:5432/ct"
        );
        assert_eq!(redacted("postgres://db.example/ct?password=hunter2"), "postgres://db.example/ct");
        assert_eq!(redacted("postgres://a:b@c@h/db"), "postgres://a@h/db");
        assert_eq!(
            format!("{:?}", Database::parse("postgres://a:hunter2@h/db").unwrap()),
            "Postgres(\"postgres://a@h/db\")"
        );
        let err = without_secrets(
            anyhow::anyhow!("password hunt2er2 and hunt%32er2 refused"),
            "postgres://a:hunt%32er2@h/db?password=x%41",
        );
        assert_eq!(err.to_string(), "password *** and *** refused");
        assert_eq!(secrets("postgres://h/db?password=x%41"), ["x%41", "xA"]);
    }
}
