use anyhow::{Result, anyhow, ensure};
use medidocs_core::ports::{LocalFile, ObjectStore, PutMode, StoreError};

use crate::Cases;

/// Backend differences of object stores.
#[derive(Debug, Clone, Copy)]
pub struct ObjectFlags {
    /// The store refuses keys that are not plain path segments (`..`, NUL, control or
    /// bidirectional characters, over-long segments). A filesystem must; S3 accepts any key.
    pub refuses_unsafe_keys: bool,
    /// Size of the large-object case (S3 adapters: above the multipart threshold).
    pub large_object_bytes: usize,
}

impl Default for ObjectFlags {
    fn default() -> Self {
        Self {
            refuses_unsafe_keys: true,
            large_object_bytes: 9 * 1024 * 1024,
        }
    }
}

fn is_not_found<T>(r: Result<T, StoreError>) -> Result<()> {
    match r {
        Err(StoreError::NotFound { .. }) => Ok(()),
        Err(e) => Err(anyhow!("expected NotFound, got {e}")),
        Ok(_) => Err(anyhow!("expected NotFound, got success")),
    }
}

/// Runs every object-store case under `prefix` (which the caller keeps for this run).
/// Returns the number of cases run.
pub async fn object_store_suite(
    store: &dyn ObjectStore,
    prefix: &str,
    flags: ObjectFlags,
) -> Result<usize> {
    let k = |s: &str| format!("{prefix}/{s}");
    let mut c = Cases::new();

    c.check(
        "put then get returns the same bytes",
        async {
            let data = b"%PDF-1.7 pretend".to_vec();
            let meta = store
                .put(&k("rt/a.bin"), data.clone(), PutMode::Overwrite)
                .await?;
            ensure!(
                meta.size == data.len() as u64,
                "put reported size {}",
                meta.size
            );
            ensure!(store.get(&k("rt/a.bin")).await? == data, "bytes differ");
            ensure!(
                store.head(&k("rt/a.bin")).await?.size == data.len() as u64,
                "head size differs"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "an empty object round-trips",
        async {
            store
                .put(&k("rt/empty"), Vec::new(), PutMode::Overwrite)
                .await?;
            ensure!(store.get(&k("rt/empty")).await?.is_empty(), "not empty");
            ensure!(
                store.head(&k("rt/empty")).await?.size == 0,
                "head size not 0"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "missing objects are NotFound for get and head",
        async {
            is_not_found(store.get(&k("missing/x")).await)?;
            is_not_found(store.head(&k("missing/x")).await)
        }
        .await,
    );

    c.check(
        "overwrite replaces; create refuses an existing key",
        async {
            store
                .put(&k("cr/x"), b"one".to_vec(), PutMode::Overwrite)
                .await?;
            store
                .put(&k("cr/x"), b"two".to_vec(), PutMode::Overwrite)
                .await?;
            ensure!(
                store.get(&k("cr/x")).await? == b"two",
                "overwrite did not replace"
            );
            match store
                .put(&k("cr/x"), b"three".to_vec(), PutMode::Create)
                .await
            {
                Err(StoreError::AlreadyExists { .. }) => {}
                other => return Err(anyhow!("create on an existing key gave {other:?}")),
            }
            ensure!(
                store.get(&k("cr/x")).await? == b"two",
                "a refused create changed the object"
            );
            store
                .put(&k("cr/new"), b"fresh".to_vec(), PutMode::Create)
                .await?;
            ensure!(
                store.get(&k("cr/new")).await? == b"fresh",
                "create of a new key failed"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "two concurrent creates of one key: exactly one wins",
        async {
            let (a, b) = futures_join(
                store.put(&k("race/x"), b"a".to_vec(), PutMode::Create),
                store.put(&k("race/x"), b"b".to_vec(), PutMode::Create),
            )
            .await;
            let wins = [a.is_ok(), b.is_ok()].iter().filter(|w| **w).count();
            ensure!(wins == 1, "{wins} creates succeeded");
            Ok(())
        }
        .await,
    );

    c.check(
        "list returns keys under a prefix, in order, with sizes",
        async {
            for (name, n) in [
                ("ls/b/2", 2usize),
                ("ls/a/1", 1),
                ("ls/b/10", 10),
                ("lsx/other", 3),
            ] {
                store
                    .put(&k(name), vec![7u8; n], PutMode::Overwrite)
                    .await?;
            }
            let got: Vec<(String, u64)> = store
                .list(&k("ls/"))
                .await?
                .into_iter()
                .map(|m| (m.key, m.size))
                .collect();
            let want = vec![(k("ls/a/1"), 1), (k("ls/b/10"), 10), (k("ls/b/2"), 2)];
            ensure!(got == want, "list gave {got:?}, expected {want:?}");
            let partial: Vec<String> = store
                .list(&k("ls/b/1"))
                .await?
                .into_iter()
                .map(|m| m.key)
                .collect();
            ensure!(
                partial == vec![k("ls/b/10")],
                "prefix inside a name gave {partial:?}"
            );
            ensure!(
                store.list(&k("nothing-here/")).await?.is_empty(),
                "listing an empty prefix is not empty"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "copy duplicates; copying a missing object is NotFound",
        async {
            store
                .put(&k("cp/src"), b"original".to_vec(), PutMode::Overwrite)
                .await?;
            store.copy(&k("cp/src"), &k("cp/dst/deep/copy")).await?;
            ensure!(
                store.get(&k("cp/dst/deep/copy")).await? == b"original",
                "copy differs"
            );
            ensure!(
                store.get(&k("cp/src")).await? == b"original",
                "source changed"
            );
            is_not_found(store.copy(&k("cp/none"), &k("cp/dst2")).await)
        }
        .await,
    );

    c.check(
        "delete removes; deleting a missing object succeeds",
        async {
            store
                .put(&k("del/x"), b"x".to_vec(), PutMode::Overwrite)
                .await?;
            store.delete(&k("del/x")).await?;
            is_not_found(store.get(&k("del/x")).await)?;
            store.delete(&k("del/x")).await?;
            ensure!(
                store.list(&k("del/")).await?.is_empty(),
                "deleted object still listed"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "a large object round-trips",
        async {
            let data: Vec<u8> = (0..flags.large_object_bytes)
                .map(|i| (i * 31 % 251) as u8)
                .collect();
            store
                .put(&k("big/blob"), data.clone(), PutMode::Overwrite)
                .await?;
            let back = store.get(&k("big/blob")).await?;
            ensure!(
                back.len() == data.len() && back == data,
                "large object differs ({} bytes back)",
                back.len()
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "a local file is stored streamed, as bytes are, and a create does not replace",
        async {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("scan.bin");
            let data: Vec<u8> = (0..flags.large_object_bytes)
                .map(|i| (i * 7 % 253) as u8)
                .collect();
            std::fs::write(&path, &data)?;
            let sha = medidocs_core::keys::sha256_hex(&data);
            let file = LocalFile {
                path: &path,
                sha256: Some(&sha),
            };
            let meta = store.put_file(&k("file/a"), file, PutMode::Create).await?;
            ensure!(
                meta.size == data.len() as u64,
                "put_file reported {}",
                meta.size
            );
            ensure!(store.get(&k("file/a")).await? == data, "file bytes differ");
            match store.put_file(&k("file/a"), file, PutMode::Create).await {
                Err(StoreError::AlreadyExists { .. }) => {}
                other => return Err(anyhow!("second create gave {other:?}")),
            }
            let small = dir.path().join("small.bin");
            std::fs::write(&small, b"small")?;
            let small = LocalFile {
                path: &small,
                sha256: None,
            };
            store
                .put_file(&k("file/a"), small, PutMode::Overwrite)
                .await?;
            ensure!(
                store.get(&k("file/a")).await? == b"small",
                "overwrite not seen"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "a local file whose bytes are not its recorded hash is not stored",
        async {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("changed.bin");
            std::fs::write(&path, b"the bytes now")?;
            let wrong = medidocs_core::keys::sha256_hex(b"the bytes when read");
            let file = LocalFile {
                path: &path,
                sha256: Some(&wrong),
            };
            ensure!(
                store
                    .put_file(&k("file/changed"), file, PutMode::Create)
                    .await
                    .is_err(),
                "stored bytes under another hash"
            );
            is_not_found(store.get(&k("file/changed")).await)
        }
        .await,
    );

    c.check(
        "a range reads that part only, cut short at the end",
        async {
            let data: Vec<u8> = (0..=255u8).collect();
            store
                .put(&k("range/a"), data.clone(), PutMode::Overwrite)
                .await?;
            let part = store.get_range(&k("range/a"), "", 10..20).await?;
            ensure!(part == data[10..20], "10..20 gave {part:?}");
            let tail = store.get_range(&k("range/a"), "", 250..400).await?;
            ensure!(tail == data[250..], "250..400 gave {} bytes", tail.len());
            let empty = store.get_range(&k("range/a"), "", 300..400).await?;
            ensure!(
                empty.is_empty(),
                "a range past the end gave {} bytes",
                empty.len()
            );
            is_not_found(store.get_range(&k("range/missing"), "", 0..10).await)
        }
        .await,
    );

    if flags.refuses_unsafe_keys {
        c.check(
            "keys that could escape or confuse are refused",
            async {
                let long = format!("{prefix}/{}", "a".repeat(1000));
                let hostile = [
                    "../escape".to_string(),
                    format!("{prefix}/../../escape"),
                    format!("{prefix}/./x"),
                    "/etc/passwd".to_string(),
                    format!("{prefix}/nul\0byte"),
                    format!("{prefix}/rtl\u{202e}fdp.exe"),
                    format!("{prefix}//double"),
                    format!("{prefix}/back\\slash"),
                    long,
                    String::new(),
                ];
                for key in &hostile {
                    match store.put(key, b"x".to_vec(), PutMode::Overwrite).await {
                        Err(StoreError::InvalidInput { .. }) => {}
                        other => return Err(anyhow!("key {key:?} gave {other:?}")),
                    }
                    match store.get(key).await {
                        Err(StoreError::InvalidInput { .. }) => {}
                        other => {
                            return Err(anyhow!(
                                "get of key {key:?} gave {:?}",
                                other.map(|v| v.len())
                            ));
                        }
                    }
                }
                Ok(())
            }
            .await,
        );
    }

    c.finish("object store")
}

async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}
