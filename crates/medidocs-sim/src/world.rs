//! One simulated deployment: two regions (the primary and the recovery region), each
//! with its stores, Lambda, Textract, Step Functions and queues; the traffic (a clinic's
//! bulk import and patients' uploads); an optional regional outage with failover,
//! reconcile and fail-back. The pipeline's control flow is the real definitions'; the
//! step handlers are the real ones; only the services are models.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use medidocs_core::inputs::SourceInput;
use medidocs_core::inputs::{BulkInput, MANIFEST_COLUMNS, manifest_row};
use medidocs_core::keys;
use medidocs_core::pacing::PacedOcr;
use medidocs_core::ports::ObjectStore;
use medidocs_media::Limits;
use medidocs_pipeline::Step;
use medidocs_pipeline::runner::{OCR_QUEUE_RESOURCE, OCR_QUEUE_URL, OcrMessage, StoreBuckets};
use medidocs_pipeline::steps::Steps;
use medidocs_states::{Engine, Failure, handler};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::Config;
use crate::clock::{RegionClock, VirtualClock, sleep_secs};
use crate::lambda::{FunctionModel, Lambda, LambdaModel};
use crate::queue::Queue;
use crate::region::RegionState;
use crate::rng::Rng;
use crate::sfn::{Machine, StartError, StartQuota, StepFunctions};
use crate::stores::{Ledger, MemMeta, MemObjects, StoreModel};
use crate::textract::{MemPacer, SimTextract, Textract, TextractModel};
use crate::usage::Meter;

/// A page waiting in the OCR queue, with the task waiting for it.
pub struct OcrJob {
    msg: OcrMessage,
    reply: oneshot::Sender<Result<Value, Failure>>,
    receives: u32,
}

/// An upload event waiting for its StartExecution.
pub struct StartJob {
    source: SourceInput,
    tries: u32,
}

pub struct Region {
    pub name: String,
    pub bucket: String,
    pub state: Arc<RegionState>,
    pub meter: Arc<Meter>,
    pub objects: Arc<MemObjects>,
    pub meta: Arc<MemMeta>,
    pub lambda: Arc<Lambda>,
    pub textract: Arc<Textract>,
    pub sfn: Arc<StepFunctions>,
    /// The OCR queues: patients' uploads, then bulk imports.
    pub ocr_queues: [Arc<Queue<OcrJob>>; 2],
    pub start_queue: Arc<Queue<StartJob>>,
    pub steps: Arc<Steps>,
    /// The steps as the bulk queue's workers run them (OCR paced behind patients).
    pub bulk_steps: Arc<Steps>,
}

/// The DefinitionSubstitutions ARN of a step's function.
fn function_arn(region: &str, step: Step) -> String {
    format!("arn:aws:lambda:{region}:000000000000:function:medidocs-{step}")
}

const PIPELINE_ARN: &str =
    "arn:aws:states:sim:000000000000:stateMachine:medidocs-document-pipeline";

/// The OCR queues' visibility time-out (sam/template.yaml): when a message given back
/// comes again.
pub const OCR_VISIBILITY: f64 = 90.0;

/// The Lambda functions, sized as the template sizes them, with timings modelled on the
/// measurements in docs/benchmarks.md.
fn functions(cfg: &Config, queue_design: bool) -> BTreeMap<String, FunctionModel> {
    let f = |memory_mb, compute, cold_start, reserved| FunctionModel {
        memory_mb,
        reserved,
        compute,
        cold_start,
        timeout: 300.0,
    };
    let ocr = Some(cfg.ocr_concurrency);
    let mut m = BTreeMap::new();
    m.insert("inspect".into(), f(512, 0.25, 0.35, None));
    m.insert("link-duplicate".into(), f(256, 0.02, 0.30, None));
    m.insert("plan".into(), f(256, 0.02, 0.30, None));
    m.insert("render-page".into(), f(1769, 0.20, 0.40, None));
    // Before the OCR queue, the state machine called the OCR function itself (reserved
    // concurrency); with it, the queue's workers are the reserved ones.
    m.insert(
        "ocr-page".into(),
        f(512, 0.08, 0.35, if queue_design { None } else { ocr }),
    );
    m.insert(
        "ocr-worker".into(),
        f(512, 0.08, 0.35, if queue_design { ocr } else { None }),
    );
    m.insert("finalize".into(), f(512, 0.08, 0.35, None));
    m.insert("reject".into(), f(256, 0.03, 0.30, None));
    m.insert("fail".into(), f(256, 0.03, 0.30, None));
    m.insert("start".into(), f(256, 0.02, 0.30, None));
    m
}

impl Region {
    pub fn new(
        name: &str,
        cfg: &Config,
        clock: &VirtualClock,
        rng: &Arc<Rng>,
        ledger: &Arc<Ledger>,
        queue_design: bool,
    ) -> Arc<Region> {
        let state = Arc::new(RegionState::new(name, clock.clone()));
        let meter = Arc::new(Meter::default());
        let s3 = StoreModel {
            latency: 0.02,
            replication_lag: cfg.s3_replication_lag,
            throttle_rate: 0.0,
        };
        let ddb = StoreModel {
            latency: 0.006,
            replication_lag: cfg.dynamodb_replication_lag,
            throttle_rate: cfg.dynamodb_throttle_rate,
        };
        let objects = Arc::new(MemObjects::new(
            state.clone(),
            meter.clone(),
            rng.clone(),
            s3,
        ));
        let meta = Arc::new(MemMeta::new(
            state.clone(),
            clock.clone(),
            meter.clone(),
            rng.clone(),
            ddb,
            ledger.clone(),
        ));
        let lambda = Arc::new(Lambda::new(
            state.clone(),
            clock.clone(),
            rng.clone(),
            meter.clone(),
            LambdaModel {
                account_concurrency: cfg.account_concurrency,
                service_error_rate: cfg.lambda_error_rate,
                keep_warm: 600.0,
            },
            functions(cfg, queue_design),
        ));
        let textract = Arc::new(Textract::new(
            state.clone(),
            clock.clone(),
            rng.clone(),
            meter.clone(),
            TextractModel {
                tps: cfg.textract_tps,
                latency: cfg.textract_latency,
                sigma: 0.5,
            },
        ));
        let region_clock: Arc<dyn medidocs_states::Clock> = Arc::new(RegionClock {
            clock: clock.clone(),
            region: state.clone(),
        });
        let deadline = std::time::Duration::from_secs(24 * 3600 + 15 * 60);
        let make_steps = |ocr: Arc<dyn medidocs_core::ports::OcrEngine>| {
            Steps::new(objects.clone(), meta.clone(), ocr, Limits::default(), 1)
                .with_region(name)
                .with_clock(region_clock.clone())
                .with_deadline(deadline)
                .with_inline_media()
        };
        let pacer = Arc::new(MemPacer::new(
            state.clone(),
            meter.clone(),
            cfg.textract_tps,
        ));
        let direct: Arc<dyn medidocs_core::ports::OcrEngine> = Arc::new(SimTextract {
            textract: textract.clone(),
            attempts: 3,
        });
        let unretried: Arc<dyn medidocs_core::ports::OcrEngine> = Arc::new(SimTextract {
            textract: textract.clone(),
            attempts: 1,
        });
        let paced = Arc::new(PacedOcr::new(
            unretried.clone(),
            pacer.clone(),
            region_clock.clone(),
        ));
        let paced_bulk = Arc::new(PacedOcr::new(unretried, pacer, region_clock.clone()).bulk());
        let steps = Arc::new(make_steps(paced));
        let bulk_steps = Arc::new(make_steps(paced_bulk));
        let direct_steps = Arc::new(make_steps(direct));
        let sfn = Arc::new(StepFunctions::new(
            clock.clone(),
            meter.clone(),
            StartQuota {
                burst: 1300.0,
                per_second: 300.0,
            },
        ));
        let region = Arc::new(Region {
            name: name.to_string(),
            bucket: format!("medidocs-uploads-000000000000-{name}"),
            state,
            meter: meter.clone(),
            objects,
            meta,
            lambda,
            textract,
            sfn,
            bulk_steps,
            ocr_queues: [
                Arc::new(Queue::new(clock.clone(), meter.clone())),
                Arc::new(Queue::new(clock.clone(), meter.clone())),
            ],
            start_queue: Arc::new(Queue::new(clock.clone(), meter)),
            steps,
        });
        region.machines(cfg, region_clock, direct_steps, rng);
        region
    }

    /// The pipeline's and the bulk import's engines: every Task resource of the real
    /// definitions bound to its model (a Lambda function running the real step, the OCR
    /// queue, or StartExecution of the pipeline).
    fn machines(
        self: &Arc<Self>,
        cfg: &Config,
        clock: Arc<dyn medidocs_states::Clock>,
        direct_steps: Arc<Steps>,
        rng: &Arc<Rng>,
    ) {
        let random = {
            let rng = rng.clone();
            Arc::new(move || rng.unit()) as medidocs_states::Random
        };
        let buckets = Arc::new(StoreBuckets(self.objects.clone()));
        let mut pipeline = Engine::new(clock.clone())
            .with_buckets(buckets.clone())
            .with_random(random.clone());
        for step in Step::ALL {
            let arn = function_arn(&self.name, step);
            pipeline.substitute(step.resource(), arn.clone());
            let region = self.clone();
            // The step as its own Task calls Textract directly, unpaced.
            let steps = if step == Step::OcrPage {
                direct_steps.clone()
            } else {
                self.steps.clone()
            };
            pipeline.register(
                arn,
                handler(move |v: Value| {
                    let (region, steps) = (region.clone(), steps.clone());
                    async move {
                        region
                            .lambda
                            .invoke(step.name(), async {
                                steps
                                    .call(step, v)
                                    .await
                                    .map_err(|c| Failure::new(c.error, c.cause))
                            })
                            .await
                    }
                }),
            );
        }
        pipeline.substitute(
            OCR_QUEUE_URL.0,
            format!(
                "https://sqs.{}.amazonaws.com/000000000000/medidocs-ocr",
                self.name
            ),
        );
        {
            let region = self.clone();
            pipeline.register(
                OCR_QUEUE_RESOURCE,
                handler(move |v: Value| {
                    let region = region.clone();
                    async move {
                        let msg = OcrMessage::from_task_input(&v)?;
                        let bulk = v["QueueUrl"].as_str().is_some_and(|u| u.ends_with("-bulk"));
                        let (reply, answer) = oneshot::channel();
                        region
                            .state
                            .call(async { Ok::<(), Failure>(()) }, || {
                                Failure::new("SQS.AmazonSQSException", "the region is down")
                            })
                            .await?;
                        region.ocr_queues[usize::from(bulk)].send(OcrJob {
                            msg,
                            reply,
                            receives: 0,
                        });
                        answer.await.unwrap_or_else(|_| {
                            Err(Failure::new(
                                "States.Runtime",
                                "the OCR queue dropped the task",
                            ))
                        })
                    }
                }),
            );
        }
        let mut bulk = Engine::new(clock).with_buckets(buckets).with_random(random);
        bulk.substitute("DocumentPipelineArn", PIPELINE_ARN);
        {
            let region = self.clone();
            bulk.register(
                "arn:aws:states:::states:startExecution.sync:2",
                handler(move |v: Value| {
                    let region = region.clone();
                    async move {
                        region.state.wait_up().await;
                        let name = v["Name"].as_str().unwrap_or_default().to_string();
                        let mut done = match region.sfn.start(Machine::Pipeline, &name, v["Input"].clone()) {
                            Ok(rx) => rx,
                            Err(StartError::AlreadyExists) => {
                                return Err(Failure::new("StepFunctions.ExecutionAlreadyExistsException", format!("execution {name} already exists")));
                            }
                            Err(StartError::Throttled) => {
                                return Err(Failure::new("StepFunctions.AWSStepFunctionsException", "Rate exceeded (StartExecution)"));
                            }
                        };
                        let status = loop {
                            if let Some(s) = done.borrow().clone() {
                                break s;
                            }
                            if done.changed().await.is_err() {
                                break "FAILED".to_string();
                            }
                        };
                        if status == "SUCCEEDED" {
                            Ok(json!({ "Status": status, "ExecutionArn": format!("{PIPELINE_ARN}:{name}") }))
                        } else {
                            Err(Failure::new("States.TaskFailed", format!("execution {name} ended {status}")))
                        }
                    }
                }),
            );
        }
        let pipeline_def: Value =
            serde_json::from_str(&cfg.pipeline_definition).unwrap_or(Value::Null);
        let bulk_def: Value = serde_json::from_str(&cfg.bulk_definition).unwrap_or(Value::Null);
        self.sfn.set_machines(
            (Arc::new(pipeline), Arc::new(pipeline_def)),
            (Arc::new(bulk), Arc::new(bulk_def)),
        );
    }

    /// The OCR queues' event source mappings: `workers` pollers for a queue, each invoking
    /// the worker function for one message at a time.
    pub fn start_ocr_workers(self: &Arc<Self>, queue: usize, workers: usize) {
        for _ in 0..workers {
            let region = self.clone();
            tokio::spawn(async move {
                let q = region.ocr_queues[queue].clone();
                loop {
                    let mut job = q.receive().await;
                    region.state.wait_up().await;
                    if job.reply.is_closed() {
                        // The task timed out meanwhile: SendTaskSuccess would be refused.
                        q.delete();
                        continue;
                    }
                    job.receives += 1;
                    let page = serde_json::to_value(&job.msg.page).unwrap_or(Value::Null);
                    let steps = if queue == 0 {
                        region.steps.clone()
                    } else {
                        region.bulk_steps.clone()
                    };
                    let r = region
                        .lambda
                        .invoke("ocr-worker", async {
                            Ok(steps.call(Step::OcrPage, page).await)
                        })
                        .await;
                    match r {
                        // The invoke itself failed: the message comes back after the
                        // queue's visibility time-out.
                        Err(_) => q.give_back(job, OCR_VISIBILITY),
                        Ok(Ok(out)) => {
                            q.delete();
                            let _ = job.reply.send(Ok(out));
                        }
                        // No slot soon enough for a bulk page: back to the queue, as a
                        // batch item failure, after the queue's visibility time-out.
                        Ok(Err(c)) if c.error == medidocs_pipeline::error::DEFERRED => {
                            q.give_back(job, OCR_VISIBILITY)
                        }
                        // SendTaskFailure: the state machine's Retry and Catch decide.
                        Ok(Err(c)) => {
                            q.delete();
                            let _ = job.reply.send(Err(Failure::new(c.error, c.cause)));
                        }
                    }
                }
            });
        }
    }

    /// The start queue's event source mapping: `workers` pollers running the starter.
    pub fn start_starters(self: &Arc<Self>, workers: usize) {
        for _ in 0..workers {
            let region = self.clone();
            tokio::spawn(async move {
                loop {
                    let mut job = region.start_queue.receive().await;
                    region.state.wait_up().await;
                    job.tries += 1;
                    let (r2, source) = (region.clone(), job.source.clone());
                    let r = region
                        .lambda
                        .invoke("start", async move {
                            // A replica is processed in the region it was uploaded to.
                            if r2.objects.is_replica(&source.key) == Some(true) {
                                return Ok(());
                            }
                            let name = keys::execution_name(&source.document_id(), 1);
                            let input = serde_json::to_value(&source).unwrap_or(Value::Null);
                            match r2.sfn.start(Machine::Pipeline, &name, input) {
                                Ok(_) | Err(StartError::AlreadyExists) => Ok(()),
                                Err(StartError::Throttled) => Err(Failure::new(
                                    "Medidocs.Throttled",
                                    "StartExecution throttled",
                                )),
                            }
                        })
                        .await;
                    match r {
                        Ok(()) => region.start_queue.delete(),
                        Err(_) => {
                            let delay = f64::from(1u32 << job.tries.min(8)).min(300.0);
                            region.start_queue.give_back(job, delay);
                        }
                    }
                }
            });
        }
    }

    /// A watchdog pass every five minutes.
    pub fn start_watchdog(self: &Arc<Self>, clock: VirtualClock) {
        let region = self.clone();
        tokio::spawn(async move {
            loop {
                sleep_secs(300.0).await;
                region.state.wait_up().await;
                region.meter.count(|u| u.watchdog_passes += 1);
                let _ =
                    medidocs_core::watchdog::sweep(region.meta.as_ref(), &region.name, clock.now())
                        .await;
            }
        });
    }
}

/// One simulated document.
#[derive(Debug, Clone)]
pub struct Planned {
    pub index: usize,
    pub pages: u32,
    pub bulk: bool,
    /// Seconds after the start when it is uploaded (bulk originals are all there at 0).
    pub arrival: f64,
    pub bytes: Arc<Vec<u8>>,
    pub key: String,
    pub version: String,
}

/// The traffic: `bulk` documents for the clinic's import, the rest uploaded by patients
/// at `uploads_per_second` (Poisson arrivals). A few are not documents at all (rejected),
/// and a few are a patient sending one of their files again (linked as duplicates: they
/// are found within one patient only).
/// Patients the documents belong to (document `i` is patient `i mod PATIENTS`'s).
const PATIENTS: usize = 997;

pub fn plan(cfg: &Config, rng: &Rng) -> Vec<Planned> {
    let bulk = cfg.bulk.min(cfg.documents);
    let mut t = 0.0;
    let mut out: Vec<Planned> = Vec::with_capacity(cfg.documents);
    for i in 0..cfg.documents {
        let is_bulk = i < bulk;
        if !is_bulk {
            t += rng.exponential(1.0 / cfg.uploads_per_second.max(1e-6));
        }
        let patient = format!("p-{}", i % PATIENTS);
        let upload = format!("{:032x}", i + 1);
        let key = if is_bulk {
            keys::bulk_key(&patient, &upload)
        } else {
            keys::upload_key(&patient, &upload)
        };
        let pages = rng.range(1, cfg.max_pages.max(1));
        let (pages, bytes) = if rng.chance(cfg.reject_share) {
            (0, Arc::new(crate::files::unsupported(i as u64)))
        } else if i >= PATIENTS && rng.chance(cfg.duplicate_content) {
            // An earlier file of the same patient (`i - k × PATIENTS`).
            let k = rng.range(1, (i / PATIENTS) as u32) as usize;
            let j = i - k * PATIENTS;
            (out[j].pages, out[j].bytes.clone())
        } else {
            (pages, Arc::new(crate::files::pdf(pages, i as u64)))
        };
        out.push(Planned {
            index: i,
            pages,
            bulk: is_bulk,
            arrival: if is_bulk { 0.0 } else { t },
            bytes,
            key,
            version: format!("v{i:08}"),
        });
    }
    out
}

/// The shared picture of the run: which region takes uploads, what was uploaded where.
pub struct Traffic {
    /// Document id → (planned index, upload bucket, arrival seconds).
    pub expected: Mutex<BTreeMap<String, (usize, String, f64)>>,
    /// Original key → source (its upload bucket and version), as S3 reports them.
    pub sources: Mutex<BTreeMap<String, SourceInput>>,
    pub active: Mutex<usize>,
    pub arrivals_done: Mutex<bool>,
}

impl Traffic {
    pub fn new() -> Self {
        Self {
            expected: Mutex::new(BTreeMap::new()),
            sources: Mutex::new(BTreeMap::new()),
            active: Mutex::new(0),
            arrivals_done: Mutex::new(false),
        }
    }

    fn register(&self, d: &Planned, bucket: &str, at: f64) -> SourceInput {
        let source = SourceInput::new(bucket, d.key.clone(), d.version.clone());
        self.expected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(source.document_id(), (d.index, bucket.to_string(), at));
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(d.key.clone(), source.clone());
        source
    }

    pub fn active(&self) -> usize {
        *self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_active(&self, r: usize) {
        *self.active.lock().unwrap_or_else(|e| e.into_inner()) = r;
    }
}

impl Default for Traffic {
    fn default() -> Self {
        Self::new()
    }
}

/// Puts the clinic's bulk originals and manifest in `region` and starts the BulkImport.
pub fn start_bulk(region: &Arc<Region>, docs: &[Planned], traffic: &Traffic, concurrency: u32) {
    let mut manifest = MANIFEST_COLUMNS.join(",") + "\n";
    for d in docs.iter().filter(|d| d.bulk) {
        region.objects.insert(&d.key, d.bytes.as_ref().clone());
        let source = traffic.register(d, &region.bucket, 0.0);
        manifest.push_str(&manifest_row(&source.bucket, &source.key, &source.version, 1).join(","));
        manifest.push('\n');
    }
    if manifest.lines().count() > 1 {
        start_manifest(
            region,
            &keys::bulk_manifest("batch-1"),
            "batch-1",
            manifest,
            concurrency,
        );
    }
}

fn start_manifest(region: &Arc<Region>, key: &str, name: &str, manifest: String, concurrency: u32) {
    region.objects.insert(key, manifest.into_bytes());
    let input = BulkInput {
        manifest_bucket: region.bucket.clone(),
        manifest_key: key.to_string(),
        upload_bucket: region.bucket.clone(),
        max_concurrency: concurrency,
        results_prefix: keys::BULK_RESULTS.trim_end_matches('/').into(),
    };
    let _ = region.sfn.start(
        Machine::Bulk,
        name,
        serde_json::to_value(&input).unwrap_or(Value::Null),
    );
}

/// An upload's object-created event, delivered through EventBridge to the start queue
/// after a short delay; some are delivered twice, the second much later (S3 and
/// EventBridge deliver at least once, in no promised order).
fn deliver(region: &Arc<Region>, source: SourceInput, rng: &Arc<Rng>, duplicate: f64) {
    let mut delays = vec![rng.lognormal(0.5, 0.5)];
    if rng.chance(duplicate) {
        delays.push(rng.unit() * 600.0);
    }
    for d in delays {
        let (region, source) = (region.clone(), source.clone());
        tokio::spawn(async move {
            sleep_secs(d).await;
            region.state.wait_up().await;
            region.meter.count(|u| u.eventbridge_events += 1);
            region.start_queue.send(StartJob { source, tries: 0 });
        });
    }
}

/// Patients' uploads, each to the region that takes traffic when it arrives (a failed
/// upload during an outage is tried again by the app once the other region answers).
pub fn start_uploads(
    regions: [Arc<Region>; 2],
    docs: Vec<Planned>,
    traffic: Arc<Traffic>,
    rng: Arc<Rng>,
    clock: VirtualClock,
    duplicate: f64,
) {
    tokio::spawn(async move {
        for d in docs.into_iter().filter(|d| !d.bulk) {
            sleep_secs(d.arrival - clock.secs()).await;
            let region = loop {
                let r = &regions[traffic.active()];
                if !r.state.is_down() {
                    break r.clone();
                }
                sleep_secs(5.0).await;
            };
            region.objects.insert(&d.key, d.bytes.as_ref().clone());
            region.meter.count(|u| u.s3_put += 1);
            let source = traffic.register(&d, &region.bucket, clock.secs());
            deliver(&region, source, &rng, duplicate);
        }
        *traffic
            .arrivals_done
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = true;
    });
}

/// The surviving region takes over: every original it holds without a final record
/// runs again under a new attempt, through a BulkImport of the reconcile manifest.
pub async fn reconcile(
    region: &Arc<Region>,
    traffic: &Traffic,
    clock: &VirtualClock,
    concurrency: u32,
    name: &str,
) -> usize {
    let mut manifest = MANIFEST_COLUMNS.join(",") + "\n";
    let mut rows = 0;
    for prefix in keys::ORIGINAL_PREFIXES {
        let Ok(objects) = region.objects.list(prefix).await else {
            continue;
        };
        for o in objects
            .into_iter()
            .filter(|o| keys::parse_original(&o.key).is_some())
        {
            let Some(source) = traffic
                .sources
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&o.key)
                .cloned()
            else {
                continue;
            };
            for _ in 0..5 {
                match medidocs_core::watchdog::reconcile_row(
                    region.meta.as_ref(),
                    &source,
                    &region.name,
                    clock.now(),
                )
                .await
                {
                    Ok(Some(row)) => {
                        manifest.push_str(&row.join(","));
                        manifest.push('\n');
                        rows += 1;
                        break;
                    }
                    Ok(None) => break,
                    Err(_) => sleep_secs(1.0).await,
                }
            }
        }
    }
    if rows > 0 {
        start_manifest(
            region,
            &keys::bulk_manifest(name),
            name,
            manifest,
            concurrency,
        );
    }
    rows
}

/// What both regions hold for a document: the copy written last.
pub fn merged(
    regions: &[Arc<Region>; 2],
    id: &str,
) -> Option<medidocs_core::model::DocumentRecord> {
    let a = regions[0].meta.document(id);
    let b = regions[1].meta.document(id);
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.updated_at > a.updated_at { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Whether every expected document is final somewhere and nothing is left running.
pub async fn settled(regions: &[Arc<Region>; 2], traffic: &Traffic) -> bool {
    if !*traffic
        .arrivals_done
        .lock()
        .unwrap_or_else(|e| e.into_inner())
    {
        return false;
    }
    let ids: Vec<String> = traffic
        .expected
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .cloned()
        .collect();
    let all_final = ids.iter().all(|id| {
        regions
            .iter()
            .any(|r| r.meta.document(id).is_some_and(|d| d.status.is_terminal()))
    });
    all_final
        && regions.iter().all(|r| {
            r.sfn.running() == 0
                && r.ocr_queues.iter().all(|q| q.is_empty())
                && r.start_queue.is_empty()
                && !r.state.is_down()
        })
}

/// Keeps the model's memory to what is in flight: a finished document's page files are
/// never read again.
pub async fn compact(regions: [Arc<Region>; 2], ledger: Arc<Ledger>) {
    let mut waiting: Vec<String> = Vec::new();
    loop {
        sleep_secs(120.0).await;
        waiting.extend(ledger.drain_new());
        // Once final in both regions' records (no run anywhere still reads them).
        waiting.retain(|id| {
            let done = regions
                .iter()
                .all(|r| r.meta.document(id).is_some_and(|d| d.status.is_terminal()));
            if done {
                for r in &regions {
                    r.objects
                        .forget_prefix(&format!("{}pages/", keys::artefacts_prefix(id)));
                }
            }
            !done
        });
    }
}
