//! `archipel identify FILE|DIR…`: PRONOM format identification, in parallel over directories.
//! The work is done by `archipel-pronom`; this module only finds the signature files and
//! presents results (a table, `--json` or `--csv`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use archipel_pronom::{suite, FileResult, Identification, Identifier, SignatureFiles};
use serde_json::json;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct IdentifyArgs {
    /// Files or directories (walked recursively, without following links to directories).
    #[arg(required_unless_present = "report")]
    pub paths: Vec<PathBuf>,
    /// DROID signature file (DROID_SignatureFile_V*.xml). Default: the newest one in
    /// $ARCHIPEL_PRONOM_DIR, else in ../shared/pronom.
    #[arg(long, value_name = "FILE")]
    pub signatures: Option<PathBuf>,
    /// Container signature file (container-signature-*.xml). Default: as for --signatures.
    #[arg(long, value_name = "FILE")]
    pub containers: Option<PathBuf>,
    /// One JSON array of results.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV with a header line.
    #[arg(long)]
    pub csv: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Accuracy over a skeleton suite: DIR holds fmt/, x-fmt/ and containers/, each file named
    /// after the PUID it must be identified as. Prints accuracy per folder and every miss.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["json", "csv"])]
    pub report: Option<PathBuf>,
}

pub async fn run(args: IdentifyArgs) -> anyhow::Result<ExitCode> {
    tokio::task::spawn_blocking(move || run_blocking(args))
        .await
        .context("identification stopped")?
}

fn run_blocking(args: IdentifyArgs) -> anyhow::Result<ExitCode> {
    let (droid, container) = match (args.signatures.clone(), args.containers.clone()) {
        (Some(d), Some(c)) => (d, c),
        (d, c) => {
            let found = SignatureFiles::discover(None)?;
            (d.unwrap_or(found.droid), c.unwrap_or(found.container))
        }
    };
    let id = Identifier::load(&droid, &container)?;
    if let Some(dir) = &args.report {
        let report = suite::run(&id, dir).with_context(|| format!("cannot read the suite in {}", dir.display()))?;
        out!("{report}");
        return Ok(if report.errors() == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let results = id.identify_all_with(&args.paths, args.jobs.unwrap_or(0))?;
    let errors = results.iter().filter(|r| r.result.is_err()).count();
    if args.json {
        print_json(&results.iter().map(result_json).collect::<Vec<_>>())?;
    } else if args.csv {
        print_csv(&results);
    } else {
        print_table(&results);
        let info = id.info();
        outln!(
            "{} file(s), {} error(s); DROID signatures V{}, container signatures {}",
            results.len(),
            errors,
            info.droid_version,
            info.container_version
        );
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn result_json(r: &FileResult) -> serde_json::Value {
    match &r.result {
        Ok(found) => {
            let mut v = serde_json::to_value(found).unwrap_or_default();
            v["path"] = json!(r.path.display().to_string());
            v["error"] = serde_json::Value::Null;
            v
        }
        Err(e) => json!({ "path": r.path.display().to_string(), "error": e.to_string() }),
    }
}

fn name_of(found: &Identification) -> String {
    match (&found.format, &found.version) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n.clone(),
        _ => String::new(),
    }
}

fn print_table(results: &[FileResult]) {
    const HEADERS: [&str; 5] = ["PUID", "FORMAT", "MIME", "BASIS", "PATH"];
    /// Widest a column may be (the path, last, is never cut).
    const MAX: [usize; 4] = [16, 44, 36, 18];
    let rows: Vec<[String; 5]> = results
        .iter()
        .map(|r| {
            let path = r.path.display().to_string();
            match &r.result {
                Ok(f) => [
                    f.puid.clone().unwrap_or_else(|| "UNKNOWN".into()),
                    name_of(f),
                    f.mime.clone().unwrap_or_default(),
                    f.basis.to_string(),
                    path,
                ],
                Err(_) => ["ERROR".into(), String::new(), String::new(), String::new(), path],
            }
        })
        .collect();
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            let widest = rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
            widest.max(HEADERS[i].len()).min(MAX[i])
        })
        .collect();
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, w) in widths.iter().enumerate() {
            out.push_str(&format!("{:<w$}  ", cut(cells[i], *w)));
        }
        out.push_str(cells[4]);
        outln!("{out}");
    };
    line(HEADERS);
    for (row, r) in rows.iter().zip(results) {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
        let messages: Vec<String> = match &r.result {
            Ok(f) => f.warnings.clone(),
            Err(e) => vec![e.to_string()],
        };
        for m in messages {
            outln!("{:w$}  ! {m}", "", w = widths[0]);
        }
    }
}

/// `s` cut to `width` characters, with an ellipsis when cut.
fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    s.chars()
        .take(width.saturating_sub(1))
        .chain(std::iter::once('…'))
        .collect()
}

fn print_csv(results: &[FileResult]) {
    outln!("path,puid,format,version,mime,basis,detail,warnings,bytes_read,error");
    for r in results {
        let path = r.path.display().to_string();
        let fields: Vec<String> = match &r.result {
            Ok(f) => vec![
                path,
                f.puid.clone().unwrap_or_default(),
                f.format.clone().unwrap_or_default(),
                f.version.clone().unwrap_or_default(),
                f.mime.clone().unwrap_or_default(),
                f.basis.to_string(),
                f.detail.clone(),
                f.warnings.join("; "),
                f.bytes_read.to_string(),
                String::new(),
            ],
            Err(e) => {
                let mut v = vec![path];
                v.extend(std::iter::repeat_n(String::new(), 8));
                v.push(e.to_string());
                v
            }
        };
        outln!("{}", fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
    }
}

/// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_with_an_ellipsis() {
        assert_eq!(cut("short", 8), "short");
        assert_eq!(cut("Portable Document Format", 8), "Portabl…");
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
