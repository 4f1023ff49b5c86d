//! The API over a real deployment on the embedded chain, reached over TCP as a browser would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use medshare_api::{Api, ErrorBody, MAX_BODY_BYTES, types};
use medshare_chain::ContractClient;
use medshare_contracts::Registration;
use medshare_crypto::Identity;
use medshare_primitives::Role;
use medshare_storage::LocalStore;
use medshare_testkit::{Backend, World};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::sync::Arc;

struct Served {
    url: String,
    http: reqwest::Client,
    world: World,
    backend: Backend,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Served {
    async fn new() -> Self {
        let backend = Backend::embedded().await.unwrap();
        let world = World::new(&backend).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalStore::open(dir.path().join("store")).unwrap());
        // The API's client never signs: a throwaway key.
        let reader = ContractClient::attach(
            backend.wallet(PrivateKeySigner::random()).await.unwrap(),
            *world.admin.chain.deployment(),
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(medshare_api::serve(
            listener,
            Api::new(reader, store),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            url,
            http: reqwest::Client::new(),
            world,
            backend,
            _dir: dir,
            _stop: stop,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    /// `GET path`, which must answer 200 with JSON.
    async fn json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    async fn put(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.http
            .put(format!("{}{path}", self.url))
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn relay(&self, raw: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/transactions", self.url))
            .json(&serde_json::json!({ "raw": raw }))
            .send()
            .await
            .unwrap()
    }
}

/// The JSON error of a refused request, after checking its status.
async fn refused(response: reqwest::Response, status: StatusCode) -> ErrorBody {
    assert_eq!(response.status(), status);
    response.json::<ErrorBody>().await.unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn an_object_is_stored_only_under_the_hash_of_its_body() {
    let s = Served::new().await;
    let body = b"ciphertext bytes".to_vec();
    let key = sha256_hex(&body);

    // Under another key: refused, naming both hashes, and nothing is stored under either.
    let other = sha256_hex(b"something else");
    let err = refused(
        s.put(&format!("/api/objects/records/{other}"), body.clone())
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        err.error.contains(&key) && err.error.contains(&other),
        "{}",
        err.error
    );
    refused(
        s.get(&format!("/api/objects/records/{other}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(
        s.get(&format!("/api/objects/records/{key}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Under its own hash: stored, and read back byte for byte.
    let stored = s
        .put(&format!("/api/objects/records/{key}"), body.clone())
        .await;
    assert_eq!(stored.status(), StatusCode::CREATED);
    let stored: types::ObjectStored = stored.json().await.unwrap();
    assert_eq!(
        (stored.key, stored.bytes),
        (format!("records/{key}"), body.len())
    );
    let read = s.get(&format!("/api/objects/records/{key}")).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.bytes().await.unwrap().to_vec(), body);

    // A key that is not 64 lowercase hex digits (a path trick, upper case) is refused.
    for bad in ["..%2Fsecret", &key.to_uppercase(), &key[..63]] {
        refused(
            s.put(&format!("/api/objects/results/{bad}"), body.clone())
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test]
async fn an_oversized_body_is_refused_and_nothing_is_stored() {
    let s = Served::new().await;
    let body = vec![7u8; MAX_BODY_BYTES + 1];
    let key = sha256_hex(&body);
    let err = refused(
        s.put(&format!("/api/objects/results/{key}"), body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(
        err.error.contains(&MAX_BODY_BYTES.to_string()),
        "{}",
        err.error
    );
    refused(
        s.get(&format!("/api/objects/results/{key}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // At the limit it is accepted.
    let body = vec![7u8; MAX_BODY_BYTES];
    let key = sha256_hex(&body);
    assert_eq!(
        s.put(&format!("/api/objects/results/{key}"), body)
            .await
            .status(),
        StatusCode::CREATED
    );
}

/// A registration transaction for a fresh key, signed outside the server (as the browser does).
async fn signed_registration(s: &Served, identity: &Identity, chain_id: u64) -> String {
    let info: types::Info = s.json("/api/info").await;
    let account: types::Account = s
        .get(&format!("/api/accounts/{}", identity.address()))
        .await
        .json()
        .await
        .unwrap();
    let call = Registration::registerCall {
        role: Role::User as u8,
        publicKey: identity.public_key_uncompressed().into(),
    };
    let gas_price: u128 = info.gas_price.parse().unwrap();
    let tx = TxEip1559 {
        chain_id,
        nonce: account.nonce,
        gas_limit: 500_000,
        max_fee_per_gas: gas_price,
        max_priority_fee_per_gas: 0,
        to: TxKind::Call(info.contracts.registration.parse::<Address>().unwrap()),
        value: U256::ZERO,
        access_list: Default::default(),
        input: call.abi_encode().into(),
    };
    let signature = identity
        .signer()
        .sign_hash_sync(&tx.signature_hash())
        .unwrap();
    let envelope = TxEnvelope::from(tx.into_signed(signature));
    format!("0x{}", hex::encode(envelope.encoded_2718()))
}

#[tokio::test]
async fn the_relay_forwards_only_one_signed_transaction_for_this_chain() {
    let s = Served::new().await;
    let info: types::Info = s.json("/api/info").await;
    let identity = Identity::random();
    s.backend.fund(identity.address()).await.unwrap();

    for (raw, why) in [
        ("not hex", "hex"),
        ("0x", "EIP-2718"),
        ("0x02deadbeef", "EIP-2718"),
    ] {
        let err = refused(s.relay(raw).await, StatusCode::BAD_REQUEST).await;
        assert!(err.error.contains(why), "{raw}: {}", err.error);
        assert!(err.hint.is_some());
    }
    // Not JSON at all.
    let response = s
        .http
        .post(format!("{}/api/transactions", s.url))
        .body("raw=0x00")
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::BAD_REQUEST).await;

    // Signed for another chain: refused before the node sees it.
    let other_chain = signed_registration(&s, &identity, info.chain_id + 1).await;
    let err = refused(s.relay(&other_chain).await, StatusCode::BAD_REQUEST).await;
    assert!(err.error.contains("signed for chain"), "{}", err.error);
    // Trailing bytes after a valid transaction.
    let good = signed_registration(&s, &identity, info.chain_id).await;
    refused(s.relay(&format!("{good}00")).await, StatusCode::BAD_REQUEST).await;

    // The real one goes through, and the patient is registered by its own signature.
    let accepted = s.relay(&good).await;
    assert_eq!(
        accepted.status(),
        StatusCode::OK,
        "{:?}",
        accepted.text().await
    );
    let accepted: types::TransactionAccepted = accepted.json().await.unwrap();
    assert_eq!(accepted.from, identity.address().to_string());
    let hash: B256 = accepted.hash.parse().unwrap();
    let receipt = s
        .world
        .admin
        .chain
        .ledger()
        .wait_for_receipt(
            hash,
            std::time::Duration::from_millis(5),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(receipt.status());
    let served: types::Receipt = s.json(&format!("/api/transactions/{hash}/receipt")).await;
    assert!(served.success);
    assert_eq!(
        s.world
            .admin
            .chain
            .role_of(identity.address())
            .await
            .unwrap(),
        Some(Role::User)
    );
    // Replayed: the node refuses it (its nonce is used), and says so.
    let err = refused(s.relay(&good).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(err.error.contains("refused"), "{}", err.error);
}

#[tokio::test]
async fn the_pages_read_what_the_chain_holds() {
    let s = Served::new().await;
    let records = s.world.registered_records(3).await.unwrap();
    let job = s.world.job("api").await.unwrap();
    let user = s.world.user.address();

    let page: types::RecordPage = s.json(&format!("/api/owners/{user}/records?limit=2")).await;
    assert_eq!((page.total, page.items.len(), page.offset), (3, 2, 0));
    assert_eq!(
        page.items[0].ciphertext_hash,
        records[0].record.ciphertextHash.to_string()
    );
    assert!(page.items.iter().all(|r| r.live));
    let rest: types::RecordPage = s
        .json(&format!("/api/owners/{user}/records?offset=2"))
        .await;
    assert_eq!(
        rest.items
            .iter()
            .map(|r| r.ciphertext_hash.clone())
            .collect::<Vec<_>>(),
        vec![records[2].record.ciphertextHash.to_string()]
    );

    // Deleting a record shows: it is no longer live.
    s.world
        .user
        .chain
        .delete_record(&records[2].record)
        .await
        .unwrap();
    let rest: types::RecordPage = s
        .json(&format!("/api/owners/{user}/records?offset=2"))
        .await;
    assert!(!rest.items[0].live);

    let jobs: types::JobPage = s.json("/api/jobs").await;
    assert_eq!(jobs.total, 1);
    assert_eq!(jobs.items[0].job, job.0.to_string());
    assert_eq!(jobs.items[0].status, "pending");
    s.world.reviewer.chain.approve_model(job).await.unwrap();
    let one: types::JobView = s.json(&format!("/api/jobs/{}", job.0)).await;
    assert_eq!(one.status, "approved");
    assert!(one.result.is_none());

    let audit: types::AuditPage = s.json(&format!("/api/owners/{user}/audit")).await;
    assert_eq!(audit.total, 0);

    // Malformed or unknown: a JSON error, each.
    refused(
        s.get(&format!("/api/jobs/{}", B256::repeat_byte(9))).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(s.get("/api/jobs/12").await, StatusCode::BAD_REQUEST).await;
    refused(
        s.get("/api/owners/0xnot-an-address/records").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    refused(
        s.get(&format!("/api/owners/{user}/audit?limit=0")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    refused(s.get("/api/nothing-here").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let s = Served::new().await;
    let doc: serde_json::Value = s.json("/api/openapi.json").await;
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/info",
        "/api/accounts/{address}",
        "/api/owners/{owner}/records",
        "/api/owners/{owner}/audit",
        "/api/jobs",
        "/api/jobs/{job}",
        "/api/transactions",
        "/api/transactions/{hash}/receipt",
        "/api/objects/records/{hash}",
        "/api/objects/records/{hash}/meta",
        "/api/objects/results/{hash}",
        "/api/objects/results/{hash}/meta",
        "/api/tees",
        "/api/tees/{address}/admission",
        "/api/calls",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let admission = &paths["/api/tees/{address}/admission"];
    assert!(admission["get"].is_object() && admission["post"].is_object());
    assert!(doc["components"]["schemas"]["AdmissionView"].is_object());
}

#[tokio::test]
async fn record_metadata_is_stored_only_when_its_owner_signed_it() {
    let s = Served::new().await;
    let records = s.world.make_records(&[b"one".to_vec()]).unwrap();
    let owned = &records[0];
    let hash = hex::encode(owned.record.ciphertextHash);
    let path = format!("/api/objects/records/{hash}/meta");
    let meta = |record: &medshare_crypto::eip712::Record, signature: &[u8]| {
        serde_json::to_vec(&serde_json::json!({
            "record": record,
            "signature": format!("0x{}", hex::encode(signature)),
        }))
        .unwrap()
    };
    let good = meta(&owned.record, owned.signature.as_bytes());

    // Under another record's key: refused.
    let other_key = sha256_hex(b"another ciphertext");
    let err = refused(
        s.put(
            &format!("/api/objects/records/{other_key}/meta"),
            good.clone(),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        err.error.contains("describes the ciphertext"),
        "{}",
        err.error
    );
    // Signed by someone who is not the record's owner: refused.
    let stranger = Identity::random();
    let domain = medshare_crypto::eip712::Domain::new(
        s.world.admin.chain.chain_id(),
        s.world.admin.chain.deployment().data,
    );
    let forged = stranger.sign_typed(&domain, &owned.record).unwrap();
    let err = refused(
        s.put(&path, meta(&owned.record, forged.as_bytes())).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        err.error.contains("not by the record's owner"),
        "{}",
        err.error
    );
    // Not metadata at all.
    refused(s.put(&path, b"{}".to_vec()).await, StatusCode::BAD_REQUEST).await;
    refused(s.get(&path).await, StatusCode::NOT_FOUND).await;

    // The owner's: stored, read back, and stored again (a retry) without complaint.
    assert_eq!(
        s.put(&path, good.clone()).await.status(),
        StatusCode::CREATED
    );
    let read = s.get(&path).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.bytes().await.unwrap().to_vec(), good);
    assert_eq!(
        s.put(&path, good.clone()).await.status(),
        StatusCode::CREATED
    );

    // Another owner's validly signed Record naming the same ciphertext does not replace it.
    let mut theirs = owned.record.clone();
    theirs.owner = stranger.address();
    let signed = stranger.sign_typed(&domain, &theirs).unwrap();
    let err = refused(
        s.put(&path, meta(&theirs, signed.as_bytes())).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(err.error.contains("another owner"), "{}", err.error);
    assert_eq!(s.get(&path).await.bytes().await.unwrap().to_vec(), good);
}

/// The web app is served from the binary: the page at `/`, the script and style it names under
/// `/assets/`, each with its type, a policy that runs only the app's own scripts, and a JSON 404
/// for a page that is not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_served_from_the_binary() {
    let s = Served::new().await;
    let page = s.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header(&page, "content-type").starts_with("text/html"));
    assert!(header(&page, "content-security-policy").contains("script-src 'self'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>medshare</title>"), "{html}");
    assert!(
        html.contains(r#"<label for="address">"#),
        "labelled controls"
    );
    let assets: Vec<&str> = html
        .split('"')
        .filter(|part| part.starts_with("/assets/"))
        .collect();
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "{assets:?}"
    );
    for asset in assets {
        let r = s.get(asset).await;
        assert_eq!(r.status(), StatusCode::OK, "{asset}");
        let kind = header(&r, "content-type");
        assert!(
            kind.starts_with(if asset.ends_with(".js") {
                "text/javascript"
            } else {
                "text/css"
            }),
            "{asset}: {kind}"
        );
        assert!(header(&r, "cache-control").contains("immutable"));
        assert!(!r.bytes().await.unwrap().is_empty());
    }
    let missing = refused(s.get("/assets/none.js").await, StatusCode::NOT_FOUND).await;
    assert!(
        missing.error.contains("/assets/none.js"),
        "{}",
        missing.error
    );
}

#[tokio::test]
async fn the_pages_read_parties_tees_and_views_and_try_calls_before_signing() {
    let s = Served::new().await;
    let info: types::Info = s.json("/api/info").await;

    // Who an account is on chain.
    let user = s.world.user.identity.address();
    let account: types::Account = s.json(&format!("/api/accounts/{user}")).await;
    assert_eq!(account.role.as_deref(), Some("user"));
    assert_eq!(
        account.public_key,
        Some(s.world.user.identity.public_key_uncompressed().to_string())
    );
    assert!(!account.reviewer && !account.admin);
    let reviewer: types::Account = s
        .json(&format!(
            "/api/accounts/{}",
            s.world.reviewer.identity.address()
        ))
        .await;
    assert!(reviewer.reviewer);
    let admin: types::Account = s
        .json(&format!(
            "/api/accounts/{}",
            s.world.admin.identity.address()
        ))
        .await;
    assert!(admin.admin && admin.role.is_none() && admin.public_key.is_none());

    // The admitted TEE, with the key a patient shares records to.
    let tees: types::TeePage = s.json("/api/tees").await;
    assert_eq!(tees.total, 1);
    let tee = &tees.items[0];
    assert_eq!(tee.address, s.world.tee.identity.address().to_string());
    assert_eq!(
        tee.public_key,
        s.world.tee.identity.public_key_uncompressed().to_string()
    );
    assert!(tee.admitted && tee.active && tee.unrevoked);
    assert_eq!(tee.evidence_kind, "simulated");

    // A view, read through a call.
    let call = |from: Option<String>, to: &str, data: Vec<u8>| {
        serde_json::json!({
            "from": from,
            "to": to,
            "data": format!("0x{}", hex::encode(data)),
        })
    };
    let post = |body: serde_json::Value| {
        s.http
            .post(format!("{}/api/calls", s.url))
            .json(&body)
            .send()
    };
    let is_reviewer = Registration::isReviewerCall {
        account: s.world.reviewer.identity.address(),
    };
    let answer = post(call(
        None,
        &info.contracts.registration,
        is_reviewer.abi_encode(),
    ))
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: types::CallResult = answer.json().await.unwrap();
    assert_eq!(answer.output, format!("0x{:0>64}", "1"));
    assert!(answer.gas.is_none());

    // A transaction tried before signing: its gas, or the contract's error in words.
    let fresh = Identity::random();
    let register = Registration::registerCall {
        role: Role::Demander as u8,
        publicKey: fresh.public_key_uncompressed().into(),
    };
    let tried: types::CallResult = post(call(
        Some(fresh.address().to_string()),
        &info.contracts.registration,
        register.abi_encode(),
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(tried.gas.unwrap() > 21_000);
    // The user registers again: refused, with the contract's error named.
    let again = Registration::registerCall {
        role: Role::User as u8,
        publicKey: s.world.user.identity.public_key_uncompressed().into(),
    };
    let err = refused(
        post(call(
            Some(user.to_string()),
            &info.contracts.registration,
            again.abi_encode(),
        ))
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(err.error.contains("Registration refuses"), "{}", err.error);
    // Only the deployment's contracts.
    let err = refused(
        post(call(None, &Address::repeat_byte(1).to_string(), vec![]))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err.error.contains("not one of"), "{}", err.error);

    // A result's signature object: a JSON 404 until the TEE's host stores one.
    refused(
        s.get(&format!("/api/objects/results/{}/meta", "ab".repeat(32)))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// A fresh TEE on `s`'s deployment that submits `evidence` with its own key.
async fn tee_submitting(
    s: &Served,
    evidence: &medshare_enclave_api::Evidence,
) -> medshare_testkit::Party {
    let tee = s.world.new_party(&s.backend).await.unwrap();
    tee.chain
        .submit_tee(tee.identity.public_key_uncompressed(), evidence.encode())
        .await
        .unwrap();
    tee
}

#[tokio::test]
async fn a_tees_evidence_is_verified_for_admission_and_refused_in_words() {
    use medshare_enclave_api::Evidence;
    let s = Served::new().await;
    let admin = &s.world.admin.chain;
    let anchors = medshare_parties::setup::trust_anchors(admin).await.unwrap();
    let measurement = medshare_testkit::simulated_measurement();
    let admission_of = |tee: Address| format!("/api/tees/{tee}/admission");

    // Simulated evidence bound to this chain, deployment and sealer: its admission, verified.
    let evidence = Evidence::simulated(measurement, anchors.clone());
    let tee = tee_submitting(&s, &evidence).await;
    let admission: types::AdmissionView = s.json(&admission_of(tee.address())).await;
    assert_eq!(admission.tee, tee.address().to_string());
    assert_eq!(
        admission.evidence_hash,
        alloy_primitives::keccak256(evidence.encode()).to_string()
    );
    assert_eq!(admission.measurement, measurement.to_string());
    assert_eq!(
        (
            admission.evidence_kind.as_str(),
            admission.evidence_kind_code
        ),
        ("simulated", 0)
    );
    assert!(!admission.unverified_headers && admission.measurement_allowed);
    assert!(admission.tcb_status.is_none() && admission.advisory_ids.is_empty());
    assert_eq!(admission.sealers, [anchors.sealers[0].to_string()]);
    // What it answers is what the contract admits (governance signs it; the API signs nothing).
    assert!(!admin.tee_info(tee.address()).await.unwrap().admitted);
    admin
        .admit_tee(
            tee.address(),
            admission.evidence_hash.parse().unwrap(),
            admission.measurement.parse().unwrap(),
            medshare_chain::EvidenceKind::Simulated,
            admission.unverified_headers,
        )
        .await
        .unwrap();
    assert!(admin.is_active_tee(tee.address()).await.unwrap());
    let err = refused(
        s.get(&admission_of(tee.address())).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(err.error.contains("admitted already"), "{}", err.error);

    // Evidence whose anchors name another deployment, or sealers not this chain's: refused.
    let mut elsewhere = anchors.clone();
    elsewhere.registration = Address::repeat_byte(7);
    let tee = tee_submitting(&s, &Evidence::simulated(measurement, elsewhere)).await;
    let err = refused(
        s.get(&admission_of(tee.address())).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        err.error.contains("cannot be admitted") && err.error.contains("not this one"),
        "{}",
        err.error
    );
    assert!(err.hint.is_some());
    let mut strangers = anchors.clone();
    strangers.sealers = vec![Address::repeat_byte(9)];
    let tee = tee_submitting(&s, &Evidence::simulated(measurement, strangers)).await;
    let err = refused(
        s.get(&admission_of(tee.address())).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(err.error.contains("sealers"), "{}", err.error);

    // A hardware quote needs its collateral; a malformed or oversized collateral is refused.
    let quoted = Evidence {
        kind: medshare_chain::EvidenceKind::SgxDcap,
        measurement: B256::ZERO,
        quote: vec![1u8; 64].into(),
        anchors: anchors.clone(),
    };
    let tee = tee_submitting(&s, &quoted).await;
    let err = refused(
        s.get(&admission_of(tee.address())).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(err.error.contains("collateral"), "{}", err.error);
    let post = |body: Vec<u8>| {
        s.http
            .post(format!("{}{}", s.url, admission_of(tee.address())))
            .body(body)
            .send()
    };
    let err = refused(post(b"{}".to_vec()).await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(err.error.contains("collateral"), "{}", err.error);
    refused(
        post(vec![b' '; medshare_api::MAX_COLLATERAL_BYTES + 1])
            .await
            .unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;

    // Simulation no longer accepted on this deployment: the admissible evidence is refused.
    let tee = tee_submitting(&s, &Evidence::simulated(measurement, anchors.clone())).await;
    admin.set_accept_simulated(false).await.unwrap();
    let err = refused(
        s.get(&admission_of(tee.address())).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        err.error.contains("does not accept simulation"),
        "{}",
        err.error
    );

    // A TEE that never submitted evidence; a malformed address.
    let err = refused(
        s.get(&admission_of(Address::repeat_byte(3))).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(err.error.contains("never submitted"), "{}", err.error);
    let err = refused(
        s.get("/api/tees/0x1234/admission").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err.error.contains("address"), "{}", err.error);
}
