//! `archipel archive bench-ui`: how fast each screen of the web interface answers with a tenant
//! of many units (the target: 100 ms at the 95th percentile). Starts a local cluster
//! (unless --cluster), ingests the units, serves the front with its interface on loopback and
//! asks each page many times over HTTP with a signed-in session, as a browser does. Prints each
//! page's p95 (median of the runs) against the target, and the floor of the same run: the p95
//! of the API's health route over the same connection.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use archipel_archive::auth::{Principal, Role};
use archipel_archive::model::{Agreement, Severity, TransferStatus};
use archipel_archive::referentials::AGREEMENT;
use archipel_archive::service::{Archive, ArchiveConfig};
use archipel_seda::digest::{DigestAlgorithm, Hasher};
use serde_json::json;

/// The target for every page.
const TARGET_P95_MS: f64 = 100.0;
const UNITS_PER_SIP: usize = 1000;
/// One unit in this many has a small file (the unit page shows objects).
const OBJECT_EVERY: usize = 10;
const RULES: &str = "RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement\n\
APP-00002,AppraisalRule,5 ans,,5,YEAR\nACC-00002,AccessRule,25 ans,,25,YEAR\n";

#[derive(clap::Args)]
pub struct UiBenchArgs {
    /// Units in the tenant.
    #[arg(long, default_value_t = 10_000)]
    pub units: usize,
    /// Requests per page and run (after two to warm up).
    #[arg(long, default_value_t = 20)]
    pub requests: usize,
    /// Runs over every page; each page's median p95 is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Use this cluster instead of starting a local 3-site x 2-node one.
    #[arg(long, env = "ARCHIPEL_CLUSTER")]
    pub cluster: Option<String>,
    /// Working directory (spool, search index, the local cluster).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: UiBenchArgs) -> anyhow::Result<ExitCode> {
    crate::cmd::server::init_logging(archipel_node::config::LogFormat::Human, "warn");
    if args.units == 0 || args.requests == 0 || args.runs == 0 {
        bail!("--units, --requests and --runs must be positive");
    }
    let work = crate::cmd::bench::work_dir(args.dir.as_deref())?;
    let local = match &args.cluster {
        Some(_) => None,
        None => {
            eprintln!("bench-ui: starting a local 3-site x 2-node cluster…");
            Some(crate::cmd::bench::cluster::LocalCluster::start(&work.path().join("cluster")).await?)
        }
    };
    let addrs = match (&args.cluster, &local) {
        (Some(c), _) => c.clone(),
        (None, Some(l)) => l.addrs.clone(),
        _ => bail!("no cluster to run against"),
    };
    let result = bench(&args, &addrs, work.path()).await;
    if let Some(l) = local {
        l.stop();
    }
    let report = result?;
    if args.json {
        crate::output::print_json(&report)?;
    } else {
        print(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print(r: &serde_json::Value) {
    outln!(
        "web interface, {} units in the tenant, {} requests per page × {} runs (median of the runs' p95)",
        r["units"],
        r["requests"],
        r["runs"]
    );
    outln!(
        "  floor (GET /v1/health, same run)  p95 {:>7.1} ms",
        r["floor_p95_ms"].as_f64().unwrap_or(0.0)
    );
    for p in r["pages"].as_array().into_iter().flatten() {
        let p95 = p["p95_ms"].as_f64().unwrap_or(0.0);
        outln!(
            "  {:<34} p95 {:>7.1} ms  median {:>7.1} ms  first {:>7.1} ms  {:>5.2}× the {TARGET_P95_MS} ms target  {}",
            p["page"].as_str().unwrap_or(""),
            p95,
            p["median_ms"].as_f64().unwrap_or(0.0),
            p["first_ms"].as_f64().unwrap_or(0.0),
            p95 / TARGET_P95_MS,
            if p95 <= TARGET_P95_MS { "pass" } else { "short" }
        );
    }
    outln!(
        "  pages within the target: {} of {}",
        r["pages_within_target"],
        r["pages"].as_array().map(Vec::len).unwrap_or(0)
    );
}

async fn bench(args: &UiBenchArgs, addrs: &str, work: &Path) -> anyhow::Result<serde_json::Value> {
    let client = crate::cmd::cert::client_for(addrs, None)?;
    let config = ArchiveConfig::new(work.join("spool"));
    let archive: Arc<Archive> = Archive::new(client, config, None).await?;
    let tenant = format!("benchui{}", std::process::id());
    archive.refs.add_tenant(&tenant, "bench ui", "BENCH-AA").await?;
    archive.refs.put_versioned(&tenant, AGREEMENT, agreement()).await?;
    let who = Principal::dev_superuser();
    archipel_archive::rules_import::import_rules(&archive, &who, &tenant, RULES).await?;
    let (unit, transfer) = ingest(&archive, &tenant, args.units, work).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let ui = archipel_ui::router(archive.clone(), archipel_ui::UiConfig::default());
    let server = tokio::spawn(archipel_archive::server::serve_with(archive.clone(), listener, ui));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let archivist = archive
        .auth
        .create(Some(&tenant), Role::Archivist, None, "archipel archive bench-ui")
        .await?
        .token;
    let operator = archive
        .auth
        .create(None, Role::Operator, None, "archipel archive bench-ui")
        .await?
        .token;
    let a = sign_in(&http, &base, &archivist).await?;
    let o = sign_in(&http, &base, &operator).await?;
    let (a, o) = (a.as_str(), o.as_str());
    let pages: Vec<(String, &str)> = vec![
        ("/ui/".into(), a),
        ("/ui/versements".into(), a),
        (format!("/ui/versements/{transfer}"), a),
        ("/ui/recherche".into(), a),
        ("/ui/recherche?q=d%C3%A9lib%C3%A9ration".into(), a),
        (format!("/ui/unites/{unit}"), a),
        ("/ui/journal".into(), a),
        ("/ui/referentiels".into(), a),
        ("/ui/communications".into(), a),
        ("/ui/eliminations".into(), a),
        ("/ui/gels".into(), a),
        ("/ui/registre".into(), a),
        ("/ui/registre/usage".into(), a),
        ("/ui/exploitation".into(), o),
        ("/ui/jetons".into(), o),
    ];
    let mut floors = Vec::new();
    let mut per_page: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); pages.len()];
    for run in 1..=args.runs {
        eprintln!("bench-ui: run {run} of {}…", args.runs);
        floors.push(time_page(&http, &base, "/v1/health", "", args.requests).await?.0);
        for (i, (path, cookie)) in pages.iter().enumerate() {
            per_page[i].push(time_page(&http, &base, path, cookie, args.requests).await?);
        }
    }
    server.abort();
    let mut rows = Vec::new();
    let mut within = 0;
    for ((path, _), runs) in pages.iter().zip(per_page) {
        let p95 = median(runs.iter().map(|r| r.0).collect());
        let med = median(runs.iter().map(|r| r.1).collect());
        // The very first request of the first run: copies and caches still cold.
        let cold = runs.first().map_or(0.0, |r| r.2);
        within += usize::from(p95 <= TARGET_P95_MS);
        rows.push(json!({
            "page": path, "p95_ms": p95, "median_ms": med, "first_ms": cold,
            "runs_p95_ms": runs.iter().map(|r| r.0).collect::<Vec<_>>(),
            "ratio_to_target": p95 / TARGET_P95_MS,
        }));
    }
    Ok(json!({
        "units": args.units, "requests": args.requests, "runs": args.runs,
        "target_p95_ms": TARGET_P95_MS,
        "floor_p95_ms": median(floors),
        "pages": rows,
        "pages_within_target": within,
    }))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// p95 and median of `n` GETs of `path` (after two to warm up), and the first of all, in
/// milliseconds.
async fn time_page(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: &str,
    n: usize,
) -> anyhow::Result<(f64, f64, f64)> {
    let mut took = Vec::with_capacity(n);
    let mut first = 0.0;
    for i in 0..n + 2 {
        let start = Instant::now();
        let r = http
            .get(format!("{base}{path}"))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await?;
        let status = r.status();
        let body = r.bytes().await?;
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        if !status.is_success() {
            bail!(
                "{path} answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        if i == 0 {
            first = elapsed;
        }
        if i >= 2 {
            took.push(elapsed);
        }
    }
    took.sort_by(f64::total_cmp);
    let p95 = took[((took.len() as f64 * 0.95).ceil() as usize).clamp(1, took.len()) - 1];
    Ok((p95, took[took.len() / 2], first))
}

/// Signs in as a browser does (the sign-in form's anti-forgery cookie and field); returns the
/// session cookie.
async fn sign_in(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<String> {
    let form = http.get(format!("{base}/ui/connexion")).send().await?;
    let csrf_cookie = cookie(&form, "archipel_csrf").context("the sign-in page set no archipel_csrf cookie")?;
    let html = form.text().await?;
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).context("the sign-in page has no _csrf field")? + marker.len();
    let field: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let r = http
        .post(format!("{base}/ui/connexion"))
        .header(reqwest::header::COOKIE, csrf_cookie)
        .form(&[("_csrf", field.as_str()), ("token", token), ("retour", "/ui/")])
        .send()
        .await?;
    cookie(&r, "archipel_session").with_context(|| format!("sign-in failed: {}", r.status()))
}

fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

fn agreement() -> Agreement {
    Agreement {
        id: "BENCH".into(),
        version: 0,
        name: "bench ui".into(),
        transferring_agencies: vec!["BENCH-TA".into()],
        profile: None,
        allowed_formats: vec![],
        format_mismatch: Severity::Warn,
        unidentified_format: Severity::Warn,
        disallowed_format: Severity::Reject,
        flow: None,
        rng: None,
        active: true,
        updated_at: chrono::Utc::now(),
    }
}

/// Ingests `units` units in SIPs of [`UNITS_PER_SIP`]; returns a unit with a file and a transfer.
async fn ingest(archive: &Arc<Archive>, tenant: &str, units: usize, work: &Path) -> anyhow::Result<(String, String)> {
    let sips = units.div_ceil(UNITS_PER_SIP);
    let mut last = None;
    for s in 0..sips {
        let count = UNITS_PER_SIP.min(units - s * UNITS_PER_SIP);
        eprintln!("bench-ui: ingesting SIP {} of {sips} ({count} units)…", s + 1);
        // In the spool, as the front's upload would leave it.
        let path = tempfile::NamedTempFile::new_in(work.join("spool"))?.into_temp_path();
        build_sip(&path, s, count)?;
        let size = std::fs::metadata(&path)?.len();
        let t = archipel_archive::ingest::submit(archive, &Principal::dev_superuser(), tenant, path, size).await?;
        loop {
            let now = archipel_archive::ingest::transfer(archive, tenant, &t.id).await?;
            if now.status.is_final() {
                if now.status == TransferStatus::Ko {
                    bail!("a bench SIP was rejected: {:?}", now.errors);
                }
                last = Some(now);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let t = last.context("no SIP was ingested")?;
    // A unit with a file: the unit page then lists objects.
    let mut with_file = None;
    archive
        .catalog
        .each_unit(tenant, |u| {
            if with_file.is_none() && !u.objects.is_empty() {
                with_file = Some(u.id.clone());
            }
            Ok(())
        })
        .await?;
    Ok((with_file.context("no unit with a file was found")?, t.id))
}

/// A SEDA 2.2 SIP of `count` units under one file: dated, described, ruled, some with a file.
fn build_sip(path: &Path, sip: usize, count: usize) -> anyhow::Result<()> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut groups = String::new();
    let mut units = String::new();
    for i in 0..count {
        let n = sip * UNITS_PER_SIP + i;
        let reference = if i % OBJECT_EVERY == 0 {
            let data = format!("Délibération n° {n} du conseil municipal.\n").repeat(20);
            let mut h = Hasher::new(DigestAlgorithm::Sha512);
            h.update(data.as_bytes());
            zip.start_file(format!("content/d{n}.txt"), opts)?;
            zip.write_all(data.as_bytes())?;
            groups.push_str(&format!(
                "<DataObjectGroup id=\"G{n}\"><BinaryDataObject id=\"O{n}\"><DataObjectVersion>BinaryMaster_1</DataObjectVersion>\
                 <Uri>content/d{n}.txt</Uri><MessageDigest algorithm=\"SHA-512\">{}</MessageDigest><Size>{}</Size>\
                 </BinaryDataObject></DataObjectGroup>",
                h.finish(),
                data.len()
            ));
            format!("<DataObjectReference><DataObjectGroupReferenceId>G{n}</DataObjectGroupReferenceId></DataObjectReference>")
        } else {
            String::new()
        };
        units.push_str(&format!(
            "<ArchiveUnit id=\"U{n}\"><Content><DescriptionLevel>Item</DescriptionLevel><Title>Délibération n° {n}</Title>\
             <Description>Délibération du conseil municipal, séance {month} de {year}.</Description>\
             <StartDate>{year}-01-01</StartDate><EndDate>{year}-12-31</EndDate></Content>{reference}</ArchiveUnit>",
            month = n % 12 + 1,
            year = 2010 + n % 12
        ));
    }
    let manifest = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
         <Date>2026-01-01T00:00:00</Date><MessageIdentifier>BENCH-UI-{sip}</MessageIdentifier><ArchivalAgreement>BENCH</ArchivalAgreement>\
         <CodeListVersions/><DataObjectPackage>{groups}<DescriptiveMetadata><ArchiveUnit id=\"ROOT\"><Management>\
         <AppraisalRule><Rule>APP-00002</Rule><StartDate>2015-01-01</StartDate><FinalAction>Destroy</FinalAction></AppraisalRule>\
         <AccessRule><Rule>ACC-00002</Rule><StartDate>2015-01-01</StartDate></AccessRule></Management><Content>\
         <DescriptionLevel>File</DescriptionLevel><Title>Délibérations, lot {sip}</Title>\
         <OriginatingAgency><Identifier>VILLE-DGS</Identifier></OriginatingAgency></Content>{units}</ArchiveUnit></DescriptiveMetadata>\
         <ManagementMetadata/></DataObjectPackage><ArchivalAgency><Identifier>BENCH-AA</Identifier></ArchivalAgency>\
         <TransferringAgency><Identifier>BENCH-TA</Identifier></TransferringAgency></ArchiveTransfer>"
    );
    zip.start_file("manifest.xml", zip::write::SimpleFileOptions::default())?;
    zip.write_all(manifest.as_bytes())?;
    zip.finish()?;
    Ok(())
}
