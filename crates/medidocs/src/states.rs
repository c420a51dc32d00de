//! `medidocs states`: check and run Amazon States Language definitions on one machine.
//! Task resources can be bound to local commands (`--task`), and a folder can stand for
//! S3 buckets (`--buckets`), so any state machine can be tried without AWS.

use std::path::{Component, Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;

use anyhow::{Context, Result};
use async_trait::async_trait;
use clap::Subcommand;
use medidocs_states::{BucketError, Buckets, Engine, Failure, SystemClock, handler};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

#[derive(Subcommand)]
pub enum StatesCommand {
    /// Check a state machine definition; every problem is printed with its state and field.
    Validate {
        /// The definition (JSON).
        definition: PathBuf,
    },
    /// Execute a definition on one machine and print its output JSON (or Error and Cause on
    /// stderr, with a non-zero exit).
    Run {
        definition: PathBuf,
        /// The execution input: JSON text, or @FILE.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Also print the execution history (one JSON event per line, on stderr).
        #[arg(long)]
        history: bool,
        /// DefinitionSubstitutions: NAME=VALUE, repeatable.
        #[arg(long = "substitute", value_name = "NAME=VALUE")]
        substitutions: Vec<String>,
        /// Binds a Task resource to a command, run with `sh -c`: the task's input JSON on
        /// its stdin, its result JSON on stdout. A non-zero exit fails the task: with
        /// `{"errorType": …, "errorMessage": …}` on stdout (as a Lambda function reports
        /// errors) that is the Error and Cause; otherwise States.TaskFailed with stderr as
        /// the Cause. Repeatable.
        #[arg(long = "task", value_name = "RESOURCE=COMMAND")]
        tasks: Vec<String>,
        /// A folder standing for S3 (DIR/BUCKET/KEY), for a Distributed Map's ItemReader and
        /// ResultWriter.
        #[arg(long, value_name = "DIR")]
        buckets: Option<PathBuf>,
    },
}

pub async fn dispatch(cmd: StatesCommand) -> Result<ExitCode> {
    match cmd {
        StatesCommand::Validate { definition } => validate(&definition),
        StatesCommand::Run {
            definition,
            input,
            history,
            substitutions,
            tasks,
            buckets,
        } => {
            let mut engine = Engine::new(Arc::new(SystemClock));
            for s in &substitutions {
                let (k, v) = s
                    .split_once('=')
                    .with_context(|| format!("--substitute {s}: expected NAME=VALUE"))?;
                engine.substitute(k, v);
            }
            for t in &tasks {
                let (resource, command) = t
                    .split_once('=')
                    .with_context(|| format!("--task {t}: expected RESOURCE=COMMAND"))?;
                engine.register(resource, command_task(command.to_string()));
            }
            if let Some(dir) = buckets {
                engine = engine.with_buckets(Arc::new(DirBuckets(dir)));
            }
            run(&engine, &definition, &input, history).await
        }
    }
}

fn validate(path: &Path) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    match medidocs_states::validate_text(&text) {
        Ok(_) => {
            println!("{}: valid", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!(
                "{}: {} problem{}",
                path.display(),
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            for e in &errors {
                eprintln!("  {e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn run(engine: &Engine, path: &Path, input: &str, history: bool) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let def = match medidocs_states::validate_text(&text) {
        Ok(d) => d,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", path.display());
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let input_text = match input.strip_prefix('@') {
        Some(file) => {
            std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?
        }
        None => input.to_string(),
    };
    let input: Value = serde_json::from_str(&input_text).context("--input is not JSON")?;
    let ex = engine.execute(&def, input, "cli").await;
    if history {
        for e in &ex.history {
            eprintln!("{e}");
        }
    }
    match ex.output {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            eprintln!("Error: {}", f.error);
            eprintln!("Cause: {}", f.cause);
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A Task handler that runs a shell command (see `--task`).
fn command_task(command: String) -> Arc<dyn medidocs_states::TaskHandler> {
    handler(move |input: Value| {
        let command = command.clone();
        async move {
            let mut child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| Failure::new("States.TaskFailed", format!("cannot start sh: {e}")))?;
            if let Some(mut stdin) = child.stdin.take() {
                // A command that does not read its input closes the pipe early: not an error.
                let _ = stdin.write_all(input.to_string().as_bytes()).await;
            }
            let out = child
                .wait_with_output()
                .await
                .map_err(|e| Failure::new("States.TaskFailed", e.to_string()))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                if let Ok(Value::Object(err)) = serde_json::from_str::<Value>(&stdout)
                    && let Some(kind) = err.get("errorType").and_then(Value::as_str)
                {
                    let cause = err
                        .get("errorMessage")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    return Err(Failure::new(kind, cause));
                }
                let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
                return Err(Failure::new(
                    "States.TaskFailed",
                    if stderr.is_empty() {
                        format!("the command exited with {}", out.status)
                    } else {
                        stderr
                    },
                ));
            }
            serde_json::from_str(stdout.trim()).map_err(|e| {
                Failure::new(
                    "States.TaskFailed",
                    format!("the command's output is not JSON: {e}"),
                )
            })
        }
    })
}

/// S3 as a folder: object `KEY` of bucket `BUCKET` is the file `DIR/BUCKET/KEY`.
struct DirBuckets(PathBuf);

impl DirBuckets {
    fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, String> {
        let rel = Path::new(bucket).join(key);
        if bucket.is_empty()
            || key.is_empty()
            || !rel.components().all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(format!(
                "bucket {bucket:?} and key {key:?} do not name a file under the buckets folder"
            ));
        }
        Ok(self.0.join(rel))
    }
}

#[async_trait]
impl Buckets for DirBuckets {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, BucketError> {
        let p = self.path(bucket, key)?;
        tokio::fs::read(&p)
            .await
            .map_err(|e| BucketError::at(p.display().to_string(), e))
    }
    async fn put_object(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), BucketError> {
        let p = self.path(bucket, key)?;
        if let Some(dir) = p.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| BucketError::at(dir.display().to_string(), e))?;
        }
        tokio::fs::write(&p, bytes)
            .await
            .map_err(|e| BucketError::at(p.display().to_string(), e))
    }
}
