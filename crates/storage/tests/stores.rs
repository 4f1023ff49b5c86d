//! The same storage suite on each backend: the local directory, and a real S3 server (Garage,
//! started by `scripts/garage-up`; `scripts/test` exports its endpoint, bucket and key).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medshare_storage::{Error, Key, LocalStore, MAX_OBJECT_BYTES, S3Config, S3Store, Store};
use std::sync::Arc;

async fn suite(store: Arc<dyn Store>, prefix: &str) {
    let key = Key::new(format!("{prefix}/records/0001")).unwrap();
    assert!(matches!(store.get(&key).await, Err(Error::NotFound { .. })));
    assert!(!store.exists(&key).await.unwrap());

    let object: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    store.put(&key, object.clone()).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), object);
    assert!(store.exists(&key).await.unwrap());

    // Replacing is whole: the reader sees the new object, not a mix.
    store.put(&key, b"short".to_vec()).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), b"short");

    // Empty objects and many concurrent writers of distinct keys.
    let empty = Key::new(format!("{prefix}/empty")).unwrap();
    store.put(&empty, Vec::new()).await.unwrap();
    assert!(store.get(&empty).await.unwrap().is_empty());
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..16u8 {
        let (store, key) = (
            store.clone(),
            Key::new(format!("{prefix}/many/{i}")).unwrap(),
        );
        writers.spawn(async move {
            store.put(&key, vec![i; 1000]).await.unwrap();
            (i, key)
        });
    }
    while let Some(done) = writers.join_next().await {
        let (i, key) = done.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), vec![i; 1000]);
    }

    // A batch, across two directories, replacing one object: every object lands whole.
    let batch: Vec<(Key, Vec<u8>)> = (0..40u8)
        .map(|i| {
            let dir = if i % 2 == 0 { "batch/a" } else { "batch/b" };
            (
                Key::new(format!("{prefix}/{dir}/{i}")).unwrap(),
                vec![i; 100 + i as usize],
            )
        })
        .chain([(key.clone(), b"from a batch".to_vec())])
        .collect();
    store.put_many(batch.clone()).await.unwrap();
    for (key, bytes) in &batch {
        assert_eq!(&store.get(key).await.unwrap(), bytes, "{key}");
    }
    store.put_many(Vec::new()).await.unwrap();

    // A reader's own limit: an object one byte over it is refused with the object's size.
    let sized = Key::new(format!("{prefix}/sized")).unwrap();
    store.put(&sized, vec![7; 100]).await.unwrap();
    assert_eq!(store.get_at_most(&sized, 100).await.unwrap(), vec![7; 100]);
    let err = store.get_at_most(&sized, 99).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                len: 100,
                max: 99,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_unavailable());
}

/// Records fan out over 256 directories by the first two characters of their name, and a store
/// written in the earlier, flat layout is still read.
#[tokio::test]
async fn local_objects_fan_out_and_the_flat_layout_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let hash = [0xab; 32];
    let key = Key::record(&hash);
    store.put(&key, b"sealed".to_vec()).await.unwrap();
    let name = hex::encode(hash);
    assert!(dir.path().join("records").join("ab").join(&name).is_file());
    assert!(!dir.path().join("records").join(&name).exists());

    let old = Key::record(&[0x01; 32]);
    std::fs::write(
        dir.path().join("records").join(hex::encode([0x01; 32])),
        b"written by an earlier medshare",
    )
    .unwrap();
    assert_eq!(
        store.get(&old).await.unwrap(),
        b"written by an earlier medshare"
    );
    assert!(store.exists(&old).await.unwrap());
    // A key in neither place is missing, not an I/O error.
    assert!(matches!(
        store.get(&Key::record(&[0x02; 32])).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn local_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path().join("objects")).unwrap();
    suite(Arc::new(store.clone()), "t").await;
    // Atomic writes leave no temporary file behind.
    let leftovers: Vec<_> = walk(store.root())
        .into_iter()
        .filter(|p| p.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A file written behind the store's back is served as is (integrity is checked by hash
    // against the chain, not by the store).
    std::fs::write(
        store.path_of(&Key::new("t/records/0001").unwrap()),
        b"tampered",
    )
    .unwrap();
    assert_eq!(
        store
            .get(&Key::new("t/records/0001").unwrap())
            .await
            .unwrap(),
        b"tampered"
    );
}

/// What a damaged directory can hold in place of an object is an error about that object, never
/// a hang (a FIFO) or a panic; a store whose directory is gone is unavailable as a whole.
#[tokio::test]
async fn local_faults_are_errors_about_one_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path().join("objects")).unwrap();
    let (dir_key, fifo_key) = (Key::new("f/dir").unwrap(), Key::new("f/fifo").unwrap());
    store
        .put(&Key::new("f/ok").unwrap(), b"ok".to_vec())
        .await
        .unwrap();
    std::fs::create_dir_all(store.path_of(&dir_key)).unwrap();
    std::fs::create_dir_all(store.path_of(&fifo_key).parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(store.path_of(&fifo_key))
        .status()
        .unwrap();
    assert!(made.success());
    for key in [&dir_key, &fifo_key] {
        let err = store.get(key).await.unwrap_err();
        assert!(
            matches!(&err, Error::Io { reason, .. } if reason == "not a regular file"),
            "{err}"
        );
        assert!(!err.is_unavailable());
    }
    std::fs::rename(store.root(), dir.path().join("moved")).unwrap();
    let err = store.get(&Key::new("f/ok").unwrap()).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

/// An object over [`MAX_OBJECT_BYTES`] is refused on put, leaving nothing written, and on get by
/// its length, without reading it: the file over the limit is sparse, and the bytes the process
/// reads meanwhile stay far below its size.
#[tokio::test]
async fn local_objects_over_the_limit_are_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path().join("objects")).unwrap();
    let (big, small) = (Key::new("big/one").unwrap(), Key::new("big/small").unwrap());
    let over = MAX_OBJECT_BYTES + 1;
    let too_large = |err: &Error| {
        matches!(err, Error::TooLarge { key, len, max }
        if key == "big/one" && *len == over && *max == MAX_OBJECT_BYTES)
    };
    // Zeroed pages, mapped lazily: the oversized buffers cost no memory until written.
    let err = store.put(&big, vec![0; over as usize]).await.unwrap_err();
    assert!(too_large(&err), "{err}");
    let err = store
        .put_many(vec![
            (small.clone(), b"small".to_vec()),
            (big.clone(), vec![0; over as usize]),
        ])
        .await
        .unwrap_err();
    assert!(too_large(&err), "{err}");
    assert!(walk(store.root()).is_empty(), "{:?}", walk(store.root()));

    std::fs::create_dir_all(store.path_of(&big).parent().unwrap()).unwrap();
    std::fs::File::create(store.path_of(&big))
        .unwrap()
        .set_len(over)
        .unwrap();
    let read_before = bytes_read();
    let err = store.get(&big).await.unwrap_err();
    assert!(too_large(&err), "{err}");
    assert!(!err.is_unavailable());
    // A caller's larger limit is still capped at MAX_OBJECT_BYTES.
    let err = store.get_at_most(&big, u64::MAX).await.unwrap_err();
    assert!(too_large(&err), "{err}");
    if let (Some(before), Some(after)) = (read_before, bytes_read()) {
        assert!(
            after - before < MAX_OBJECT_BYTES / 4,
            "read {} bytes",
            after - before
        );
    }
}

/// The bytes this process has read so far (`rchar` of `/proc/self/io`, which counts reads of
/// sparse files too), where the system says.
fn bytes_read() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|n| n.parse().ok())
}

/// An S3 object over the limit is refused by the response's `Content-Length`, before its body is
/// read: the server here announces the size and never sends a byte of body, so a store that
/// waited for the body would time out.
#[tokio::test]
async fn s3_objects_over_the_limit_are_too_large_before_their_body_is_read() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new(); // the connections stay open, their bodies never sent
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let len = if head.starts_with(b"GET /medshare/big/") {
                MAX_OBJECT_BYTES + 1
            } else {
                100
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nETag: \"e\"\r\n\
                 Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n"
            );
            open.push(stream);
        }
    });
    let store = S3Store::new(S3Config {
        bucket: "medshare".into(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: "garage".into(),
        access_key_id: "GK00000000000000000000000".into(),
        secret_access_key: "0".repeat(64),
        retry_timeout: std::time::Duration::from_secs(1),
    })
    .unwrap();
    // Without the check the store would wait for the body until the timeout.
    let limit = std::time::Duration::from_secs(20);
    let (big, small) = (Key::new("big/one").unwrap(), Key::new("small/one").unwrap());
    let err = tokio::time::timeout(limit, store.get(&big))
        .await
        .expect("refused by its size, without waiting for the body")
        .unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge { len, max, .. }
            if *len == MAX_OBJECT_BYTES + 1 && *max == MAX_OBJECT_BYTES),
        "{err}"
    );
    let err = tokio::time::timeout(limit, store.get_at_most(&small, 99))
        .await
        .expect("refused by its size, without waiting for the body")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                len: 100,
                max: 99,
                ..
            }
        ),
        "{err}"
    );
}

/// An S3 service nobody answers at is unavailable (after the configured retries), not a missing
/// or damaged object.
#[tokio::test]
async fn an_unreachable_s3_service_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nothing listens there now
    let store = S3Store::new(S3Config {
        bucket: "medshare".into(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: "garage".into(),
        access_key_id: "GK00000000000000000000000".into(),
        secret_access_key: "0".repeat(64),
        retry_timeout: std::time::Duration::from_secs(1),
    })
    .unwrap();
    let err = store.get(&Key::new("x/y").unwrap()).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[tokio::test]
async fn s3_on_garage() {
    let Ok(bucket) = std::env::var("MEDSHARE_TEST_S3_BUCKET") else {
        panic!(
            "MEDSHARE_TEST_S3_BUCKET is not set: run scripts/test, which starts Garage with scripts/garage-up"
        );
    };
    let store = S3Store::new(S3Config::from_env(&bucket).unwrap()).unwrap();
    let prefix = format!("run-{:016x}", rand_u64());
    suite(Arc::new(store), &prefix).await;
    // Wrong credentials are an error, not an empty answer.
    let mut bad = S3Config::from_env(&bucket).unwrap();
    bad.secret_access_key = "wrong".into();
    let bad = S3Store::new(bad).unwrap();
    let err = bad
        .get(&Key::new(format!("{prefix}/empty")).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

/// An object over the limit placed in the bucket behind the store's back (uploading these
/// 256 MiB to a local Garage takes about 2 s) is refused by its size.
#[tokio::test]
async fn s3_on_garage_refuses_an_object_over_the_limit() {
    use object_store::{ObjectStoreExt, PutPayload, aws::AmazonS3Builder, path::Path};
    let Ok(bucket) = std::env::var("MEDSHARE_TEST_S3_BUCKET") else {
        panic!(
            "MEDSHARE_TEST_S3_BUCKET is not set: run scripts/test, which starts Garage with scripts/garage-up"
        );
    };
    let config = S3Config::from_env(&bucket).unwrap();
    let mut raw = AmazonS3Builder::new()
        .with_bucket_name(&bucket)
        .with_region(&config.region)
        .with_access_key_id(&config.access_key_id)
        .with_secret_access_key(&config.secret_access_key);
    if let Some(endpoint) = &config.endpoint {
        raw = raw
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    let raw = raw.build().unwrap();
    let key = Key::new(format!("run-{:016x}/big", rand_u64())).unwrap();
    let path = Path::from(key.as_str());
    let over = MAX_OBJECT_BYTES + 1;
    // Zeroed pages, mapped lazily: the buffer is read to be sent, never written.
    raw.put(&path, PutPayload::from(vec![0u8; over as usize]))
        .await
        .unwrap();
    let store = S3Store::new(config).unwrap();
    let got = store.get(&key).await;
    raw.delete(&path).await.unwrap();
    let err = got.unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge { len, max, .. }
            if *len == over && *max == MAX_OBJECT_BYTES),
        "{err}"
    );
}

fn rand_u64() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id())
}
