//! The commands and what they do.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use casetrail_server::ServerConfig;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::database::{Database, open_store};

#[derive(Debug, Parser)]
#[command(name = "casetrail", version, about = "The System Log of a law firm's account: a tamper-evident audit trail")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes after its name.
#[derive(Debug, Args)]
struct Common {
    /// Holds the embedded database and the signing key.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The database: sqlite://PATH or postgres://… (default: the SQLite file in the
    /// data dir). Prefer CASETRAIL_DATABASE_URL for a URL with a password.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and the web UI.
    Serve {
        #[command(flatten)]
        common: Common,
        /// The address to listen on.
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// First fill an empty store with a demo firm.
        #[arg(long)]
        demo: bool,
    },
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Check every chain; exit 1 when anything was tampered with.
    Verify {
        #[command(flatten)]
        common: Common,
        /// Only this account.
        #[arg(long, value_name = "ID")]
        account: Option<casetrail_store::AccountId>,
        /// Check a jsonl chain export offline instead of the data dir.
        #[arg(long, value_name = "EXPORT")]
        file: Option<PathBuf>,
        /// Check an evidence zip (an export with format=evidence) offline instead.
        #[arg(long, value_name = "ZIP", conflicts_with = "file")]
        evidence: Option<PathBuf>,
        /// With --file or --evidence: the base64 Ed25519 public key to trust (from
        /// /api/v1/integrity/public-key).
        #[arg(long, value_name = "BASE64")]
        public_key: Option<String>,
    },
    /// Export an account's log: csv or xlsx with filters, or jsonl (the whole chain).
    Export {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_name = "ID")]
        account: casetrail_store::AccountId,
        /// csv, xlsx or jsonl.
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// Repeat for several.
        #[arg(long)]
        actor: Vec<String>,
        /// An activity key or category; repeat for several.
        #[arg(long)]
        activity: Vec<String>,
        #[arg(long)]
        case: Option<String>,
        #[arg(long)]
        client: Option<String>,
        #[arg(long)]
        q: Option<String>,
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Apply the retention policies.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Manage the key that signs checkpoints.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Purge now what every account's policy allows.
    Run {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Start signing with a new key (in the key file, or the data dir); running
    /// servers switch to it within a minute; old checkpoints stay verifiable.
    Rotate {
        #[command(flatten)]
        common: Common,
    },
    /// Write a new private key (PKCS#8 PEM, mode 0600) for signing_key_file; print its key_id.
    Generate {
        #[command(flatten)]
        common: Common,
        /// The file to create; an existing one is never overwritten.
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account with its first admin, an ingest key and an admin key.
    Create {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "EMAIL")]
        admin_email: String,
        #[arg(long, value_name = "NAME")]
        admin_name: Option<String>,
        /// Print exactly one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn config(common: &Common, listen: Option<SocketAddr>) -> anyhow::Result<Config> {
    let overrides = Overrides { data_dir: common.data_dir.clone(), listen, database_url: common.database_url.clone() };
    Config::load(common.config.as_deref(), overrides)
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CASETRAIL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { common, listen, demo } => {
            let config = config(&common, listen)?;
            init_logging(&config);
            serve(config, demo).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Account { command: AccountCommand::Create { common, name, admin_email, admin_name, json } } => {
            let config = config(&common, None)?;
            create_account(&config, &name, &admin_email, admin_name.as_deref(), json).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { file: Some(file), public_key, .. } => crate::verify::run_file(&file, public_key.as_deref()),
        Command::Verify { evidence: Some(zip), public_key, .. } => crate::evidence::run(&zip, public_key.as_deref()),
        Command::Verify { public_key: Some(_), .. } => anyhow::bail!("--public-key goes with --file or --evidence"),
        Command::Verify { common, account, .. } => {
            let config = config(&common, None)?;
            let store = open_store(&config).await?;
            // The ring comes from the database; keys already in the data dir are
            // read beside it. Verifying never creates a key.
            let local = crate::keys::data_dir_ring(&config)?;
            crate::verify::run(store.as_ref(), &local, account).await
        }
        Command::Export { common, account, format, from, to, actor, activity, case, client, q, output } => {
            let config = config(&common, None)?;
            let store = open_store(&config).await?;
            let local = crate::keys::data_dir_ring(&config)?;
            let mut params = Vec::new();
            let single = [("from", from), ("to", to), ("case", case), ("client", client), ("q", q)];
            for (name, value) in single {
                if let Some(v) = value {
                    params.push((name.to_string(), v));
                }
            }
            params.extend(actor.into_iter().map(|v| ("actor".to_string(), v)));
            params.extend(activity.into_iter().map(|v| ("activity".to_string(), v)));
            let args = crate::export::ExportArgs { account, format: &format, params, output: &output };
            let rows = crate::export::run(store, local, args).await?;
            eprintln!("exported {rows} events to {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention { command: RetentionCommand::Run { common } } => {
            let config = config(&common, None)?;
            let store = open_store(&config).await?;
            // Purges sign tombstones: with the configured key, known to the database
            // first, so they verify on every server (without taking the current key's
            // place from the servers when it is another).
            let (keys, _) = crate::keys::signing_keys(&config)?;
            casetrail_app::signing::make_known(store.as_ref(), &keys).await?;
            // A run that an earlier crash cut short is recorded before this one starts.
            // This process shows no metrics; its counts are kept nowhere.
            let metrics = casetrail_app::metrics::Metrics::default();
            let now = casetrail_core::Timestamp::now();
            casetrail_app::retention::recover_unfinished(store.as_ref(), &metrics, now).await?;
            let stop = tokio_util::sync::CancellationToken::new();
            let purged = casetrail_app::retention::run_all(store.as_ref(), &keys, &metrics, &stop).await?;
            println!("purged {purged} events");
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command: KeysCommand::Rotate { common } } => {
            let config = config(&common, None)?;
            println!("{}", crate::keys::rotate(&config).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command: KeysCommand::Generate { common, output } } => {
            // The configuration is read (a bad one is still an error) but no database
            // is needed: the key only becomes known once a server or `keys rotate`
            // uses it.
            config(&common, None)?;
            let key_id = crate::keys::generate(&output)?;
            eprintln!("casetrail: wrote a new signing key to {} (owner-only); its key_id:", output.display());
            println!("{key_id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let database = Database::of(&config)?;
    let store = open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    if demo {
        crate::demo::load_if_empty(store.as_ref(), &format!("http://{addr}")).await?;
    }
    let (keys, key_source) = crate::keys::signing_keys(&config)?;
    tracing::info!(
        %addr,
        database = %database.describe(),
        key_id = %keys.current().key_id,
        "casetrail is serving"
    );
    let server_config = ServerConfig {
        secure_cookies: config.secure_cookies,
        session_hours: config.session_hours,
        trusted_proxies: config.trusted_proxies.clone(),
        keys: Arc::new(keys),
        key_source: Some(key_source),
        key_poll: casetrail_app::signing::watch::KEY_POLL,
        retention_every: std::time::Duration::from_secs(3600),
        // Soon after start, so a server restarted often still purges.
        retention_first_after: std::time::Duration::from_secs(60),
        checkpoint_every: casetrail_app::writer::CHECKPOINT_EVERY,
        timeouts: config.timeouts()?,
        allow_private_stream_destinations: config.allow_private_stream_destinations,
        stream_first_backoff: casetrail_app::streams::deliver::FIRST_BACKOFF,
        metrics_token: config.metrics_token.as_deref().and_then(casetrail_server::metrics::MetricsToken::new),
    };
    casetrail_server::serve(listener, store, server_config, shutdown_signal()).await?;
    tracing::info!("casetrail stopped");
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
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests and commits");
}

async fn create_account(
    config: &Config,
    name: &str,
    email: &str,
    admin_name: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
    anyhow::ensure!(casetrail_app::team::valid_email(email), "--admin-email {email:?} is not an email address");
    let store = open_store(config).await?;
    let admin_name = admin_name.unwrap_or("Administrator");
    let p = casetrail_app::provision::create_account(store.as_ref(), name.trim(), email, admin_name).await?;
    if json {
        let out = serde_json::json!({
            "account_id": p.account.id,
            "admin_email": p.admin.email,
            "admin_password": p.admin_password,
            "ingest_key": p.ingest_key,
            "admin_key": p.admin_key,
        });
        println!("{out}");
    } else {
        println!("Created account {} ({})", p.account.name, p.account.id);
        println!("  admin:      {} / {}", p.admin.email, p.admin_password);
        println!("  ingest key: {}", p.ingest_key);
        println!("  admin key:  {}", p.admin_key);
        println!("Keep these now: the password and keys are not shown again.");
    }
    Ok(())
}
