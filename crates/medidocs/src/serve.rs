//! `medidocs serve`, `token`, `care-team` and `audit`: the API on one machine and the
//! commands that manage who may use it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use medidocs_api::{App, DevTokens, LocalDelivery};
use medidocs_core::access::{Role, validate_subject};
use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use medidocs_core::ports::AccessStore;
use medidocs_local::UPLOAD_BUCKET;
use medidocs_media::Limits;

use crate::{LimitArgs, open_runtime};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on. Keep it on 127.0.0.1 unless a TLS proxy is in front.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    limits: LimitArgs,
    /// Parallel work (documents, pages, OCR); default: the number of cores.
    #[arg(long)]
    workers: Option<usize>,
    #[command(flatten)]
    http: HttpLimitArgs,
}

/// What a public endpoint needs against slow, greedy or hostile clients (docs/security.md).
#[derive(Args)]
pub struct HttpLimitArgs {
    /// Seconds a client may take to send a request head; also how long an idle
    /// keep-alive connection stays open.
    #[arg(long, default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a request other than an upload may take, body included.
    #[arg(long, default_value_t = 30)]
    request_timeout: u64,
    /// Seconds an upload's body may pause between two chunks.
    #[arg(long, default_value_t = 30)]
    body_idle_timeout: u64,
    /// Open connections at most (also kept under the process's file limit). When full,
    /// an idle connection of the busiest address is closed for a new client.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Open connections at most from one address.
    #[arg(long, default_value_t = 256)]
    max_connections_per_address: usize,
    /// Requests a second from one address (sustained), and its burst.
    #[arg(long, default_value_t = 100.0)]
    rate_per_address: f64,
    #[arg(long, default_value_t = 200.0)]
    burst_per_address: f64,
    /// Requests a second with one token (sustained), and its burst.
    #[arg(long, default_value_t = 20.0)]
    rate_per_token: f64,
    #[arg(long, default_value_t = 60.0)]
    burst_per_token: f64,
}

impl HttpLimitArgs {
    fn limits(&self) -> Result<medidocs_api::server::ServerLimits> {
        use medidocs_api::server::{Rate, ServerLimits};
        let rate = |name: &str, per_second: f64, burst: f64| {
            if per_second > 0.0 && burst >= 1.0 && per_second.is_finite() && burst.is_finite() {
                Ok(Rate { per_second, burst })
            } else {
                bail!("--rate-{name} must be above 0 and --burst-{name} at least 1")
            }
        };
        let secs = |name: &str, s: u64| {
            if (1..=3600).contains(&s) {
                Ok(Duration::from_secs(s))
            } else {
                bail!("--{name}: from 1 to 3600 seconds")
            }
        };
        if self.max_connections == 0 || self.max_connections_per_address == 0 {
            bail!("--max-connections and --max-connections-per-address must be at least 1");
        }
        Ok(ServerLimits {
            header_timeout: secs("header-timeout", self.header_timeout)?,
            request_timeout: secs("request-timeout", self.request_timeout)?,
            body_idle_timeout: secs("body-idle-timeout", self.body_idle_timeout)?,
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            per_address: rate("per-address", self.rate_per_address, self.burst_per_address)?,
            per_token: rate("per-token", self.rate_per_token, self.burst_per_token)?,
            ..ServerLimits::default()
        }
        .fit_to_file_limit())
    }
}

/// Runs the executions the API starts (a retry) in the background, on this machine.
struct LocalOrchestrator {
    runner: Arc<medidocs_pipeline::runner::Runner>,
}

#[async_trait::async_trait]
impl medidocs_core::ports::Orchestrator for LocalOrchestrator {
    async fn start(
        &self,
        source: &SourceInput,
        name: &str,
    ) -> Result<(), medidocs_core::ports::StoreError> {
        let (runner, source, name) = (self.runner.clone(), source.clone(), name.to_string());
        tokio::spawn(async move {
            if let Err(e) = runner.run_named(&source, &name).await {
                tracing::error!(error = %e, "a retry could not be run");
            }
        });
        Ok(())
    }
}

pub async fn serve(data_dir: &Path, args: ServeArgs) -> Result<ExitCode> {
    let limits = args.limits.limits();
    let http_limits = args.http.limits()?;
    let rt = Arc::new(open_runtime(data_dir, limits, args.workers)?);
    let version = rt
        .ocr
        .check()
        .await
        .context("the OCR engine is not ready")?;
    let key = rt.token_key()?;
    let runner = Arc::new(rt.runner());
    let orchestrator = Arc::new(LocalOrchestrator {
        runner: runner.clone(),
    });
    // Uploads are processed in the background, a bounded number at a time.
    let slots = Arc::new(tokio::sync::Semaphore::new(rt.config.workers));
    let start = Arc::new(move |source: SourceInput| {
        let (runner, slots) = (runner.clone(), slots.clone());
        tokio::spawn(async move {
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            if let Err(e) = runner.run(&source).await {
                tracing::error!(error = %e, "an upload could not be processed");
            }
        });
    });
    // The watchdog: every minute, documents stuck for an hour become FAILED (timeout).
    {
        let meta = rt.meta.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) =
                    crate::sweep(meta.as_ref(), medidocs_core::watchdog::DEFAULT_DEADLINE).await
                {
                    tracing::warn!(error = %e, "watchdog pass failed");
                }
            }
        });
    }
    // The search index, brought up to the records now rather than at the first search.
    let search = Arc::new(rt.search()?);
    {
        let search = search.clone();
        tokio::spawn(async move {
            if let Err(e) = search.catch_up().await {
                tracing::warn!(error = %e, "search index not brought up to date");
            }
        });
    }
    let app = App {
        search,
        meta: rt.meta.clone(),
        access: rt.meta.clone(),
        artefacts: rt.objects.clone(),
        auth: Arc::new(DevTokens::new(&key)),
        delivery: Arc::new(LocalDelivery::new(
            &key,
            rt.objects.clone(),
            UPLOAD_BUCKET,
            start,
        )),
        orchestrator,
        max_upload_bytes: limits.max_bytes,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // One write, errors ignored: a closed stdout must not stop the server.
    let banner = format!(
        "Medi-Advice documents API on http://{addr}/ (data: {})\n\
         \x20 doctors' page   http://{addr}/\n\
         \x20 API             http://{addr}/v1/  (OpenAPI: /v1/openapi.json)\n\
         \x20 OCR             {version}\n\
         \x20 sign in with a token from: medidocs token --role doctor --sub <id>\n",
        data_dir.display()
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }
    medidocs_api::server::serve(
        listener,
        medidocs_api::router(Arc::new(app)),
        http_limits,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await
    .context("the server stopped")?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct TokenArgs {
    /// patient, doctor or staff.
    #[arg(long)]
    role: String,
    /// The subject: a patient's id for a patient; a doctor's or staff member's id otherwise.
    #[arg(long)]
    sub: String,
    /// How long the token is valid: seconds, or a number with s, m, h or d.
    #[arg(long, default_value = "8h")]
    ttl: String,
}

fn parse_ttl(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (n, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = n
        .parse()
        .with_context(|| format!("--ttl {s}: not a duration"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => bail!("--ttl {s}: use s, m, h or d"),
    };
    if secs == 0 || secs > 30 * 86_400 {
        bail!("--ttl {s}: from 1 second to 30 days");
    }
    Ok(Duration::from_secs(secs))
}

/// Prints a development token signed with the data dir's key.
pub fn token(data_dir: &Path, args: TokenArgs) -> Result<ExitCode> {
    let role = Role::parse(&args.role)
        .with_context(|| format!("--role {}: use patient, doctor or staff", args.role))?;
    validate_subject(&args.sub).map_err(|e| anyhow::anyhow!("--sub: {e}"))?;
    let ttl = parse_ttl(&args.ttl)?;
    let rt = open_runtime(data_dir, Limits::default(), Some(1))?;
    let token = DevTokens::new(&rt.token_key()?)
        .mint(&args.sub, role, ttl)
        .map_err(|e| anyhow::anyhow!(e))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
pub enum CareTeamCommand {
    /// Put a doctor (or staff member) on a patient's care team.
    Add(TeamArgs),
    /// Take them off it.
    Remove(TeamArgs),
    /// List a patient's care team, or a doctor's patients.
    List {
        #[arg(long, conflicts_with = "doctor", required_unless_present = "doctor")]
        patient: Option<String>,
        #[arg(long, alias = "member")]
        doctor: Option<String>,
    },
}

#[derive(Args)]
pub struct TeamArgs {
    /// The doctor's (or staff member's) subject, as in their token.
    #[arg(long, alias = "member")]
    doctor: String,
    #[arg(long)]
    patient: String,
}

fn check_ids(member: Option<&str>, patient: Option<&str>) -> Result<()> {
    if let Some(m) = member {
        validate_subject(m).map_err(|e| anyhow::anyhow!("--doctor: {e}"))?;
    }
    if let Some(p) = patient {
        keys::validate_patient_id(p).map_err(|e| anyhow::anyhow!("--patient: {e}"))?;
    }
    Ok(())
}

pub async fn care_team(data_dir: &Path, cmd: CareTeamCommand) -> Result<ExitCode> {
    let rt = open_runtime(data_dir, Limits::default(), Some(1))?;
    match cmd {
        CareTeamCommand::Add(a) => {
            check_ids(Some(&a.doctor), Some(&a.patient))?;
            rt.meta.add_care_team_member(&a.patient, &a.doctor).await?;
            println!("{} is on the care team of {}", a.doctor, a.patient);
        }
        CareTeamCommand::Remove(a) => {
            check_ids(Some(&a.doctor), Some(&a.patient))?;
            match rt.meta.remove_care_team_member(&a.patient, &a.doctor).await {
                Ok(()) => println!(
                    "{} is no longer on the care team of {}",
                    a.doctor, a.patient
                ),
                Err(medidocs_core::ports::StoreError::NotFound { .. }) => {
                    bail!("{} is not on the care team of {}", a.doctor, a.patient)
                }
                Err(e) => return Err(e.into()),
            }
        }
        CareTeamCommand::List { patient, doctor } => {
            check_ids(doctor.as_deref(), patient.as_deref())?;
            let names = match (&patient, &doctor) {
                (Some(p), _) => rt.meta.care_team(p).await?,
                (None, Some(d)) => rt.meta.member_patients(d).await?,
                (None, None) => Vec::new(),
            };
            for n in names {
                println!("{n}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct PatientArgs {
    #[arg(long)]
    patient: String,
    /// How numeric dates on this patient's documents are read when a document does not
    /// say: ie or uk (day first), us (month first), ca (from each document, else flagged
    /// ambiguous), or `default` for the data dir's (MEDIDOCS_DATE_REGION, else ie). Their
    /// documents whose dates it decided are read again.
    #[arg(long)]
    date_region: Option<String>,
    /// One JSON object.
    #[arg(long)]
    json: bool,
}

/// Shows, or sets, what is set for one patient.
pub async fn patient(data_dir: &Path, a: PatientArgs) -> Result<ExitCode> {
    keys::validate_patient_id(&a.patient).map_err(|e| anyhow::anyhow!("--patient: {e}"))?;
    let rt = open_runtime(data_dir, Limits::default(), Some(1))?;
    let default = rt.config.date_region;
    let reread = match a.date_region.as_deref().map(str::trim) {
        None => None,
        Some(r) => {
            let region = match r {
                "default" => None,
                r => Some(medidocs_core::understand::Region::parse(r).ok_or_else(|| {
                    anyhow::anyhow!("--date-region {r}: use ie, uk, us, ca or default")
                })?),
            };
            Some(
                medidocs_core::reread::set_date_region(
                    &*rt.store,
                    &*rt.meta,
                    &a.patient,
                    region,
                    default,
                    &medidocs_core::clock::now_rfc3339(),
                )
                .await?,
            )
        }
    };
    let own = medidocs_core::ports::MetadataStore::patient_settings(&*rt.meta, &a.patient)
        .await?
        .date_region;
    let region = own.unwrap_or(default);
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "patient": a.patient,
                "date_region": own.map(|r| r.as_str()),
                "default_date_region": default.as_str(),
                "reread": reread,
            })
        );
    } else {
        println!(
            "{}: dates read as in {}{}",
            a.patient,
            region.describe(),
            if own.is_none() { " (the default)" } else { "" }
        );
        if let Some(r) = &reread {
            println!(
                "{} of their documents read again; {} now read otherwise",
                r.read, r.changed
            );
            for (id, why) in &r.errors {
                eprintln!("{id}: not read again: {why}");
            }
        }
    }
    Ok(match &reread {
        Some(r) if !r.errors.is_empty() => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}

#[derive(Args)]
pub struct AuditArgs {
    /// Only this patient's records.
    #[arg(long)]
    patient: Option<String>,
    /// How many records, newest first.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

pub async fn audit(data_dir: &Path, args: AuditArgs) -> Result<ExitCode> {
    check_ids(None, args.patient.as_deref())?;
    let rt = open_runtime(data_dir, Limits::default(), Some(1))?;
    let mut left = args.limit.max(1);
    let mut cursor: Option<String> = None;
    if !args.json {
        println!(
            "{:<24} {:<12} {:<8} {:<15} {:<12} {:<24} {:<8} reason",
            "when (UTC)", "who", "role", "action", "patient", "document", "outcome"
        );
    }
    while left > 0 {
        let page = rt
            .meta
            .list_audit(args.patient.as_deref(), left.min(500), cursor.as_deref())
            .await?;
        for r in &page.records {
            if args.json {
                println!("{}", serde_json::to_string(r)?);
            } else {
                println!(
                    "{:<24} {:<12} {:<8} {:<15} {:<12} {:<24} {:<8} {}",
                    r.at,
                    r.actor.as_deref().unwrap_or("(no token)"),
                    r.role.map(|x| x.as_str()).unwrap_or("-"),
                    r.action,
                    r.patient_id.as_deref().unwrap_or("-"),
                    r.document_id.as_deref().unwrap_or("-"),
                    r.outcome.as_str(),
                    r.reason.as_deref().unwrap_or("")
                );
            }
        }
        left = left.saturating_sub(page.records.len());
        match page.next {
            Some(n) if !page.records.is_empty() => cursor = Some(n),
            _ => break,
        }
    }
    Ok(ExitCode::SUCCESS)
}
