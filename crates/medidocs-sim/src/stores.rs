//! In-memory object and metadata stores with S3's and DynamoDB's rules (conditional
//! writes, item-level last-writer-wins replication to the other region, throttling), so
//! the real step handlers run on them. Every call takes a little virtual time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use async_trait::async_trait;
use medidocs_core::keys;
use medidocs_core::model::{DocumentPage, DocumentRecord};
use medidocs_core::ports::{MetadataStore, ObjectMeta, ObjectStore, PutMode, StoreError};

use crate::clock::{VirtualClock, sleep_secs};
use crate::region::RegionState;
use crate::rng::Rng;
use crate::usage::Meter;

fn down() -> StoreError {
    StoreError::unavailable("region", "the region is down")
}

/// Timings and replication of a store.
#[derive(Debug, Clone, Copy)]
pub struct StoreModel {
    /// Mean seconds per request.
    pub latency: f64,
    /// Mean seconds before a write reaches the other region.
    pub replication_lag: f64,
    /// Share of requests refused as throttled (after the SDK's own retries).
    pub throttle_rate: f64,
}

#[derive(Clone)]
pub struct Obj {
    pub bytes: Arc<Vec<u8>>,
    /// Written by replication from the other region (S3 says REPLICA).
    pub replica: bool,
}

/// One region's buckets as one key space (the prefixes stand for the buckets).
pub struct MemObjects {
    region: Arc<RegionState>,
    objects: Mutex<BTreeMap<String, Obj>>,
    meter: Arc<Meter>,
    rng: Arc<Rng>,
    model: StoreModel,
    peer: OnceLock<Weak<MemObjects>>,
}

impl MemObjects {
    pub fn new(
        region: Arc<RegionState>,
        meter: Arc<Meter>,
        rng: Arc<Rng>,
        model: StoreModel,
    ) -> Self {
        Self {
            region,
            objects: Mutex::new(BTreeMap::new()),
            meter,
            rng,
            model,
            peer: OnceLock::new(),
        }
    }

    /// Cross-region replication to `peer`.
    pub fn replicate_to(&self, peer: &Arc<MemObjects>) {
        let _ = self.peer.set(Arc::downgrade(peer));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Obj>> {
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn latency(&self) {
        sleep_secs(self.rng.lognormal(self.model.latency, 0.4)).await;
    }

    /// Whether the object is a replica from the other region.
    pub fn is_replica(&self, key: &str) -> Option<bool> {
        self.lock().get(key).map(|o| o.replica)
    }

    /// Drops every object under `prefix` (the simulator forgets a finished document's
    /// page files; nothing reads them again).
    pub fn forget_prefix(&self, prefix: &str) {
        let mut m = self.lock();
        let keys: Vec<String> = m
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            m.remove(&k);
        }
    }

    /// Writes without a request (the simulation's set-up, and replication).
    pub fn insert(&self, key: &str, bytes: Vec<u8>) {
        self.lock().insert(
            key.to_string(),
            Obj {
                bytes: Arc::new(bytes),
                replica: false,
            },
        );
        self.schedule_replication(key);
    }

    fn schedule_replication(&self, key: &str) {
        // Both buckets' records are replicated (the template's rules), so a region that
        // takes over finds the pages the other region had finished; intermediates under
        // `work/` are not.
        let replicated = keys::is_kept(key) && !key.starts_with(keys::BULK_RESULTS);
        let Some(peer) = self.peer.get().and_then(Weak::upgrade) else {
            return;
        };
        if !replicated {
            return;
        }
        let Some(obj) = self.lock().get(key).cloned() else {
            return;
        };
        let (key, lag, source) = (
            key.to_string(),
            self.rng.lognormal(self.model.replication_lag, 0.8),
            self.region.clone(),
        );
        tokio::spawn(async move {
            sleep_secs(lag).await;
            // Nothing leaves a region that is down; what was pending goes when it is back.
            source.wait_up().await;
            peer.region.wait_up().await;
            peer.lock().insert(
                key,
                Obj {
                    bytes: obj.bytes,
                    replica: true,
                },
            );
        });
    }
}

#[async_trait]
impl ObjectStore for MemObjects {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        self.meter.count(|u| u.s3_put += 1);
        self.region
            .call(
                async {
                    self.latency().await;
                    let size = bytes.len() as u64;
                    {
                        let mut m = self.lock();
                        if mode == PutMode::Create && m.contains_key(key) {
                            return Err(StoreError::AlreadyExists {
                                what: key.to_string(),
                            });
                        }
                        m.insert(
                            key.to_string(),
                            Obj {
                                bytes: Arc::new(bytes),
                                replica: false,
                            },
                        );
                    }
                    self.schedule_replication(key);
                    Ok(ObjectMeta {
                        key: key.to_string(),
                        size,
                    })
                },
                down,
            )
            .await
    }

    async fn put_file(
        &self,
        key: &str,
        file: medidocs_core::ports::LocalFile<'_>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        // The simulator holds objects in memory: the file is read whole.
        let bytes = tokio::fs::read(file.path)
            .await
            .map_err(|e| StoreError::unavailable(format!("{key}: reading the file"), e))?;
        if file
            .sha256
            .is_some_and(|expected| keys::sha256_hex(&bytes) != expected)
        {
            return Err(StoreError::ChecksumMismatch {
                what: key.to_string(),
            });
        }
        self.put(key, bytes, mode).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.meter.count(|u| u.s3_get += 1);
        self.region
            .call(
                async {
                    self.latency().await;
                    self.lock()
                        .get(key)
                        .map(|o| o.bytes.as_ref().clone())
                        .ok_or_else(|| StoreError::not_found(key.to_string()))
                },
                down,
            )
            .await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.meter.count(|u| u.s3_get += 1);
        self.region
            .call(
                async {
                    self.latency().await;
                    self.lock()
                        .get(key)
                        .map(|o| ObjectMeta {
                            key: key.to_string(),
                            size: o.bytes.len() as u64,
                        })
                        .ok_or_else(|| StoreError::not_found(key.to_string()))
                },
                down,
            )
            .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.region
            .call(
                async {
                    self.latency().await;
                    let found: Vec<ObjectMeta> = self
                        .lock()
                        .range(prefix.to_string()..)
                        .take_while(|(k, _)| k.starts_with(prefix))
                        .map(|(k, o)| ObjectMeta {
                            key: k.clone(),
                            size: o.bytes.len() as u64,
                        })
                        .collect();
                    // One LIST request per 1,000 keys.
                    self.meter
                        .count(|u| u.s3_list += 1 + found.len() as u64 / 1000);
                    Ok(found)
                },
                down,
            )
            .await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.meter.count(|u| u.s3_put += 1);
        self.region
            .call(
                async {
                    self.latency().await;
                    let obj = self
                        .lock()
                        .get(from)
                        .cloned()
                        .ok_or_else(|| StoreError::not_found(from.to_string()))?;
                    self.lock().insert(
                        to.to_string(),
                        Obj {
                            bytes: obj.bytes,
                            replica: false,
                        },
                    );
                    self.schedule_replication(to);
                    Ok(())
                },
                down,
            )
            .await
    }

    /// S3 does not charge for DELETE requests.
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.region
            .call(
                async {
                    self.latency().await;
                    self.lock().remove(key);
                    Ok(())
                },
                down,
            )
            .await
    }
}

/// Which runs brought each document to a final status, and when the first did: shared
/// by both regions' stores, read by the report.
#[derive(Default)]
pub struct Ledger {
    inner: Mutex<BTreeMap<String, Finished>>,
    /// Documents finished since the last [`Ledger::drain_new`].
    new: Mutex<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// (region, attempt) of every run that wrote a final status.
    pub runs: BTreeSet<(String, u32)>,
    pub first_at: f64,
}

impl Ledger {
    fn finished(&self, id: &str, region: &str, attempt: u32, at: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let f = m.entry(id.to_string()).or_insert_with(|| {
            self.new
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(id.to_string());
            Finished {
                runs: BTreeSet::new(),
                first_at: at,
            }
        });
        f.runs.insert((region.to_string(), attempt));
    }

    pub fn drain_new(&self) -> Vec<String> {
        std::mem::take(&mut *self.new.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn snapshot(&self) -> BTreeMap<String, Finished> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[derive(Clone)]
struct Versioned<T> {
    value: T,
    /// When it was written, in the region that wrote it (replication's last writer wins).
    at: f64,
    origin: String,
}

impl<T> Versioned<T> {
    fn newer_than(&self, other: &Versioned<T>) -> bool {
        (self.at, &self.origin) > (other.at, &other.origin)
    }
}

#[derive(Default)]
struct Tables {
    docs: BTreeMap<String, Versioned<DocumentRecord>>,
    shas: BTreeMap<String, Versioned<String>>,
    /// (patient, listing key) → id: the patient index.
    patients: BTreeMap<(String, String), String>,
    /// (partition, sort) → id: the sparse in-flight index.
    inflight: BTreeMap<(String, String), String>,
    /// Patients' settings (of this region only: the scenarios set none).
    settings: BTreeMap<String, medidocs_core::model::PatientSettings>,
}

impl Tables {
    fn unindex(&mut self, d: &DocumentRecord) {
        self.patients.remove(&(
            d.patient_id.clone(),
            keys::listing_key(&d.created_at, &d.id),
        ));
        if let Some(k) = keys::inflight_index(d) {
            self.inflight.remove(&k);
        }
    }

    fn put_doc(&mut self, v: Versioned<DocumentRecord>) {
        if let Some(old) = self.docs.get(&v.value.id).map(|o| o.value.clone()) {
            self.unindex(&old);
        }
        let d = &v.value;
        self.patients.insert(
            (
                d.patient_id.clone(),
                keys::listing_key(&d.created_at, &d.id),
            ),
            d.id.clone(),
        );
        if let Some(k) = keys::inflight_index(d) {
            self.inflight.insert(k, d.id.clone());
        }
        self.docs.insert(d.id.clone(), v);
    }
}

/// One region's replica of the metadata table.
pub struct MemMeta {
    region: Arc<RegionState>,
    clock: VirtualClock,
    tables: Mutex<Tables>,
    meter: Arc<Meter>,
    rng: Arc<Rng>,
    model: StoreModel,
    peer: OnceLock<Weak<MemMeta>>,
    ledger: Arc<Ledger>,
}

/// An item's write units (1 KB each) and read units (4 KB each, strongly consistent).
const DOC_KB: f64 = 1.5;

impl MemMeta {
    pub fn new(
        region: Arc<RegionState>,
        clock: VirtualClock,
        meter: Arc<Meter>,
        rng: Arc<Rng>,
        model: StoreModel,
        ledger: Arc<Ledger>,
    ) -> Self {
        Self {
            region,
            clock,
            tables: Mutex::new(Tables::default()),
            meter,
            rng,
            model,
            peer: OnceLock::new(),
            ledger,
        }
    }

    /// The global table's other replica.
    pub fn replicate_to(&self, peer: &Arc<MemMeta>) {
        let _ = self.peer.set(Arc::downgrade(peer));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every document record, as this replica holds it.
    pub fn all_documents(&self) -> Vec<(DocumentRecord, f64)> {
        self.lock()
            .docs
            .values()
            .map(|v| (v.value.clone(), v.at))
            .collect()
    }

    pub fn document(&self, id: &str) -> Option<DocumentRecord> {
        self.lock().docs.get(id).map(|v| v.value.clone())
    }

    async fn request<T>(
        &self,
        write: bool,
        op: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.region
            .call(
                async {
                    sleep_secs(self.rng.lognormal(self.model.latency, 0.4)).await;
                    if self.rng.chance(self.model.throttle_rate) {
                        self.meter.count(|u| u.dynamodb_throttles += 1);
                        return Err(StoreError::Throttled {
                            source: "ProvisionedThroughputExceededException".into(),
                        });
                    }
                    self.meter.count(|u| {
                        if write {
                            u.dynamodb_write_units += DOC_KB.ceil();
                        } else {
                            u.dynamodb_read_units += 1.0;
                        }
                    });
                    op()
                },
                down,
            )
            .await
    }

    fn versioned<T>(&self, value: T) -> Versioned<T> {
        Versioned {
            value,
            at: self.clock.secs(),
            origin: self.region.name.clone(),
        }
    }

    fn replicate_doc(&self, v: Versioned<DocumentRecord>) {
        let Some(peer) = self.peer.get().and_then(Weak::upgrade) else {
            return;
        };
        let (lag, source) = (
            self.rng.lognormal(self.model.replication_lag, 0.5),
            self.region.clone(),
        );
        tokio::spawn(async move {
            sleep_secs(lag).await;
            source.wait_up().await;
            peer.region.wait_up().await;
            peer.meter
                .count(|u| u.dynamodb_replicated_write_units += DOC_KB.ceil());
            let mut t = peer.lock();
            let newer = t
                .docs
                .get(&v.value.id)
                .is_none_or(|local| v.newer_than(local));
            if newer {
                t.put_doc(v);
            }
        });
    }

    fn replicate_sha(&self, sha: String, v: Versioned<String>) {
        let Some(peer) = self.peer.get().and_then(Weak::upgrade) else {
            return;
        };
        let (lag, source) = (
            self.rng.lognormal(self.model.replication_lag, 0.5),
            self.region.clone(),
        );
        tokio::spawn(async move {
            sleep_secs(lag).await;
            source.wait_up().await;
            peer.region.wait_up().await;
            peer.meter
                .count(|u| u.dynamodb_replicated_write_units += 1.0);
            let mut t = peer.lock();
            if t.shas.get(&sha).is_none_or(|local| v.newer_than(local)) {
                t.shas.insert(sha, v);
            }
        });
    }

    fn written(&self, before: Option<&DocumentRecord>, after: &DocumentRecord) {
        if let Ok(id) = std::env::var("MEDIDOCS_SIM_TRACE")
            && id == after.id
        {
            eprintln!(
                "{:.3} {} write: {:?} attempt {} region {} (was {:?} attempt {:?})",
                self.clock.secs(),
                self.region.name,
                after.status,
                after.attempt,
                after.region,
                before.map(|b| b.status),
                before.map(|b| b.attempt)
            );
        }
        let was_final = before.is_some_and(|b| b.status.is_terminal());
        if after.status.is_terminal() && !was_final {
            self.ledger.finished(
                &after.id,
                &self.region.name,
                after.attempt,
                self.clock.secs(),
            );
        }
    }
}

#[async_trait]
impl MetadataStore for MemMeta {
    async fn create_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
        let v = self
            .request(true, || {
                let mut t = self.lock();
                if t.docs.contains_key(&doc.id) {
                    return Err(StoreError::AlreadyExists {
                        what: format!("document {}", doc.id),
                    });
                }
                let v = self.versioned(doc.clone());
                t.put_doc(v.clone());
                Ok(v)
            })
            .await?;
        self.written(None, doc);
        self.replicate_doc(v);
        Ok(())
    }

    async fn get_document(&self, id: &str) -> Result<DocumentRecord, StoreError> {
        self.request(false, || {
            self.document(id)
                .ok_or_else(|| StoreError::not_found(format!("document {id}")))
        })
        .await
    }

    async fn update_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
        let (before, v) = self
            .request(true, || {
                let mut t = self.lock();
                let Some(local) = t.docs.get(&doc.id).map(|v| v.value.clone()) else {
                    return Err(StoreError::not_found(format!("document {}", doc.id)));
                };
                if local.version + 1 != doc.version {
                    return Err(StoreError::Precondition {
                        what: format!(
                            "document {} is at version {}, not {}",
                            doc.id,
                            local.version,
                            doc.version.saturating_sub(1)
                        ),
                    });
                }
                let v = self.versioned(doc.clone());
                t.put_doc(v.clone());
                Ok((local, v))
            })
            .await?;
        self.written(Some(&before), doc);
        self.replicate_doc(v);
        Ok(())
    }

    async fn list_patient_documents_by_date(
        &self,
        patient_id: &str,
        days: (Option<&str>, Option<&str>),
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DocumentPage, StoreError> {
        self.request(false, || {
            let t = self.lock();
            let (low, high) = medidocs_core::keys::dated_range(days.0, days.1);
            let below = match cursor {
                Some(c) if c < high.as_str() => c.to_string(),
                _ => high,
            };
            // The simulator's documents are few: a sort of the patient's is its index.
            let mut rows: Vec<(String, DocumentRecord)> = t
                .docs
                .values()
                .map(|v| &v.value)
                .filter(|d| d.patient_id == patient_id)
                .map(|d| (medidocs_core::keys::dated_index(d).1, d.clone()))
                .filter(|(k, _)| *k >= low && *k < below)
                .collect();
            rows.sort_by(|a, b| b.0.cmp(&a.0));
            let limit = limit.clamp(1, 1000);
            let more = rows.len() > limit;
            rows.truncate(limit);
            let next = if more {
                rows.last().map(|(k, _)| k.clone())
            } else {
                None
            };
            Ok(DocumentPage {
                documents: rows.into_iter().map(|(_, d)| d).collect(),
                next,
            })
        })
        .await
    }

    async fn list_patient_documents(
        &self,
        patient_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DocumentPage, StoreError> {
        self.request(false, || {
            let t = self.lock();
            let lo = (patient_id.to_string(), String::new());
            let hi = (
                patient_id.to_string(),
                cursor
                    .map(str::to_string)
                    .unwrap_or_else(|| "\u{10ffff}".into()),
            );
            let limit = limit.clamp(1, 1000);
            let rows: Vec<(String, String)> = t
                .patients
                .range(lo..hi)
                .rev()
                .take(limit + 1)
                .map(|((_, sk), id)| (sk.clone(), id.clone()))
                .collect();
            let more = rows.len() > limit;
            let rows = &rows[..rows.len().min(limit)];
            let documents = rows
                .iter()
                .filter_map(|(_, id)| t.docs.get(id).map(|v| v.value.clone()))
                .collect();
            let next = if more {
                rows.last().map(|(sk, _)| sk.clone())
            } else {
                None
            };
            Ok(DocumentPage { documents, next })
        })
        .await
    }

    async fn patient_settings(
        &self,
        patient_id: &str,
    ) -> Result<medidocs_core::model::PatientSettings, StoreError> {
        self.request(false, || {
            Ok(self
                .lock()
                .settings
                .get(patient_id)
                .cloned()
                .unwrap_or_default())
        })
        .await
    }

    async fn put_patient_settings(
        &self,
        patient_id: &str,
        settings: &medidocs_core::model::PatientSettings,
    ) -> Result<(), StoreError> {
        self.request(true, || {
            self.lock()
                .settings
                .insert(patient_id.to_string(), settings.clone());
            Ok(())
        })
        .await
    }

    async fn claim_content(
        &self,
        patient_id: &str,
        sha256: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let claim = keys::content_claim(patient_id, sha256);
        let (first, new) = self
            .request(true, || {
                let mut t = self.lock();
                if let Some(v) = t.shas.get(&claim) {
                    return Ok((v.value.clone(), None));
                }
                let v = self.versioned(id.to_string());
                t.shas.insert(claim.clone(), v.clone());
                Ok((id.to_string(), Some(v)))
            })
            .await?;
        if let Some(v) = new {
            self.replicate_sha(claim, v);
        }
        Ok(if first == id { None } else { Some(first) })
    }

    async fn count_by_status(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        self.request(false, || {
            let mut counts = BTreeMap::new();
            for v in self.lock().docs.values() {
                *counts
                    .entry(v.value.status.as_str().to_string())
                    .or_insert(0) += 1;
            }
            Ok(counts)
        })
        .await
    }

    async fn overdue_documents(
        &self,
        region: &str,
        now: &str,
        limit: usize,
    ) -> Result<Vec<DocumentRecord>, StoreError> {
        let found = self
            .request(false, || {
                let t = self.lock();
                let p = keys::inflight_partition(region);
                let found: Vec<DocumentRecord> = t
                    .inflight
                    .range((p.clone(), String::new())..(p, now.to_string()))
                    .take(limit.clamp(1, 1000))
                    .filter_map(|(_, id)| t.docs.get(id).map(|v| v.value.clone()))
                    .collect();
                Ok(found)
            })
            .await?;
        // A query reads the items it returns, rounded up to 4 KB, eventually consistent.
        let units = ((found.len() as f64 * DOC_KB / 4.0).ceil() * 0.5).max(0.5);
        self.meter.count(|u| u.watchdog_read_units += units);
        Ok(found)
    }
}
