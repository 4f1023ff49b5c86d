//! The handlers, one per route; each documents itself for the OpenAPI document.

use crate::{
    Api, ApiDoc, Error, ErrorBody, MAX_BODY_BYTES, MAX_COLLATERAL_BYTES, MAX_META_BYTES, MAX_PAGE,
    MAX_TRANSACTION_BYTES,
    types::{
        Account, AdmissionView, AuditEntry, AuditPage, Budget, CallRequest, CallResult, Contracts,
        Info, JobPage, JobView, ObjectStored, PageQuery, Receipt, RecordPage, RecordView,
        ResultView, SignedTransaction, TeePage, TeeView, TransactionAccepted,
    },
};
use alloy_consensus::{TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::Decodable2718;
use alloy_primitives::{Address, B256, Bytes};
use axum::{
    Json,
    body::Body,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use medshare_chain::{JobStatus, UseOutcome};
use medshare_contracts::layout;
use medshare_crypto::eip712::{self, Domain, Signature};
use medshare_parties::meta::RecordMeta;
use medshare_primitives::JobId;
use medshare_storage::Key;
use sha2::{Digest, Sha256};
use utoipa::OpenApi;

type Result<T, E = Error> = std::result::Result<T, E>;

/// `GET /api/openapi.json`: this API's OpenAPI document.
pub async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(ErrorBody {
                error: format!("rendering the OpenAPI document: {e}"),
                hint: None,
            }),
        )
            .into_response(),
    }
}

/// Any other path.
pub async fn not_found() -> Error {
    Error::NotFound("no such route: the routes are listed in /api/openapi.json".into())
}

/// The chain, its latest block and the deployment.
#[utoipa::path(get, path = "/api/info", responses(
    (status = 200, body = Info),
    (status = 502, description = "the node cannot be reached", body = ErrorBody),
))]
pub async fn info(State(api): State<Api>) -> Result<Json<Info>> {
    let ledger = api.chain.ledger();
    let d = api.chain.deployment();
    Ok(Json(Info {
        chain_id: api.chain.chain_id(),
        block: ledger.block_number().await?,
        gas_price: ledger.gas_price().await?.to_string(),
        contracts: Contracts {
            registration: d.registration.to_string(),
            data: d.data.to_string(),
            model: d.model.to_string(),
            authorization: d.authorization.to_string(),
            audit: d.audit.to_string(),
        },
        max_record_bytes: MAX_BODY_BYTES as u64,
    }))
}

/// An account's next nonce and balance, for signing its next transaction, and who it is on chain
/// (its role and registered key, reviewer, admin).
#[utoipa::path(get, path = "/api/accounts/{address}",
    params(("address" = String, Path, description = "0x-prefixed address")),
    responses((status = 200, body = Account), (status = 400, body = ErrorBody)))]
pub async fn account(State(api): State<Api>, Path(address): Path<String>) -> Result<Json<Account>> {
    let address = parse_address(&address)?;
    let ledger = api.chain.ledger();
    let public_key = api.chain.public_key_of(address).await?;
    Ok(Json(Account {
        address: address.to_string(),
        nonce: ledger.pending_nonce(address).await?,
        balance: ledger.balance(address).await?.to_string(),
        role: api.chain.role_of(address).await?.map(|r| r.to_string()),
        public_key: (!public_key.is_empty()).then(|| public_key.to_string()),
        reviewer: api.chain.is_reviewer(address).await?,
        admin: api.chain.is_admin(address).await?,
    }))
}

/// A patient's records (every version it registered), with whether each is live and its
/// privacy budget.
#[utoipa::path(get, path = "/api/owners/{owner}/records",
    params(("owner" = String, Path, description = "the patient's address"), PageQuery),
    responses((status = 200, body = RecordPage), (status = 400, body = ErrorBody)))]
pub async fn records_of_owner(
    State(api): State<Api>,
    Path(owner): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<RecordPage>> {
    let owner = parse_address(&owner)?;
    let all = api.chain.records_of_owner(owner).await?;
    let (offset, limit) = page_bounds(&page)?;
    let mut items = Vec::new();
    for logged in all.iter().skip(offset).take(limit) {
        let e = &logged.event;
        let live = api.chain.commitment_of(e.ciphertextHash).await?
            == layout::data::owned_commitment(owner, e.commitment);
        let (total_milli, spent_milli) = api.chain.budget_of(e.ciphertextHash).await?;
        items.push(RecordView {
            ciphertext_hash: e.ciphertextHash.to_string(),
            data_type: e.dataType.to_string(),
            commitment: e.commitment.to_string(),
            live,
            budget: Budget {
                total_milli,
                spent_milli,
            },
            block: logged.block_number,
            transaction: logged.transaction_hash.map(|h| h.to_string()),
        });
    }
    Ok(Json(RecordPage {
        items,
        total: all.len(),
        offset,
    }))
}

/// Every job, oldest first, with its status.
#[utoipa::path(get, path = "/api/jobs", params(PageQuery),
    responses((status = 200, body = JobPage), (status = 400, body = ErrorBody)))]
pub async fn jobs(State(api): State<Api>, Query(page): Query<PageQuery>) -> Result<Json<JobPage>> {
    let all = api.chain.submissions().await?;
    let (offset, limit) = page_bounds(&page)?;
    let mut items = Vec::new();
    for logged in all.iter().skip(offset).take(limit) {
        items.push(job_view(&api, logged).await?);
    }
    Ok(Json(JobPage {
        items,
        total: all.len(),
        offset,
    }))
}

/// One job, with its status and, once posted, where its encrypted result is.
#[utoipa::path(get, path = "/api/jobs/{job}",
    params(("job" = String, Path, description = "the job id (0x-prefixed, 32 bytes)")),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody)))]
pub async fn job(State(api): State<Api>, Path(job): Path<String>) -> Result<Json<JobView>> {
    let job = JobId(parse_hash("job", &job)?);
    let Some(logged) = api.chain.submission_of(job).await? else {
        return Err(Error::NotFound(format!("no job {}", job.0)));
    };
    Ok(Json(job_view(&api, &logged).await?))
}

async fn job_view(
    api: &Api,
    logged: &medshare_chain::Logged<medshare_contracts::Model::ModelSubmitted>,
) -> Result<JobView> {
    let e = &logged.event;
    let job = JobId(e.jobId);
    let status = api.chain.job_status(job).await?;
    let result = api.chain.result_of(job).await?.map(|r| ResultView {
        result_hash: r.event.resultHash.to_string(),
        tee: r.event.tee.to_string(),
        view_block: r.event.viewBlock,
        view_hash: r.event.viewHash.to_string(),
        block: r.block_number,
    });
    Ok(JobView {
        job: e.jobId.to_string(),
        demander: e.demander.to_string(),
        data_type: e.dataType.to_string(),
        status: status_name(status).into(),
        model: String::from_utf8_lossy(&e.model).into_owned(),
        requirement: String::from_utf8_lossy(&e.requirement).into_owned(),
        model_hash: e.modelHash.to_string(),
        min_cohort: e.minCohort,
        epsilon_milli: e.epsilonMilli,
        submitted_at: e.timestamp,
        block: logged.block_number,
        result,
    })
}

/// Every TEE that submitted its key and evidence, oldest first, with what governance made of it.
#[utoipa::path(get, path = "/api/tees", params(PageQuery),
    responses((status = 200, body = TeePage), (status = 400, body = ErrorBody)))]
pub async fn tees(State(api): State<Api>, Query(page): Query<PageQuery>) -> Result<Json<TeePage>> {
    let all = api.chain.tee_submissions().await?;
    let (offset, limit) = page_bounds(&page)?;
    let mut items = Vec::new();
    for logged in all.iter().skip(offset).take(limit) {
        let tee = logged.event.tee;
        let info = api.chain.tee_info(tee).await?;
        items.push(TeeView {
            address: tee.to_string(),
            public_key: api.chain.public_key_of(tee).await?.to_string(),
            admitted: info.admitted,
            active: api.chain.is_active_tee(tee).await?,
            unrevoked: info.unrevoked,
            unverified_headers: info.unverified_headers,
            measurement: info.measurement.to_string(),
            evidence_kind: evidence_kind_name(info.evidence_kind).into(),
            evidence_hash: info.evidence_hash.to_string(),
            block: logged.block_number,
        });
    }
    Ok(Json(TeePage {
        items,
        total: all.len(),
        offset,
    }))
}

/// Verifies a TEE's submission for admission, exactly as `medshare governance admit-tee` does
/// before it signs (`medshare_parties::governance::verify_admission`): PK_T is the TEE
/// account's key, the evidence is the one whose hash is on chain, its trust anchors name this
/// chain, this deployment and this chain's sealers (the sealer of the node's latest block) unless
/// governance accepts unsigned headers, and simulated evidence only where governance accepts it.
/// A hardware quote (SGX DCAP, TDX) needs its collateral: `POST` it. Answers the verified facts
/// governance then signs into `Registration.admitTee`; the API signs nothing.
#[utoipa::path(get, path = "/api/tees/{address}/admission",
    params(("address" = String, Path, description = "the TEE's address")),
    responses(
        (status = 200, body = AdmissionView),
        (status = 400, description = "a malformed address", body = ErrorBody),
        (status = 404, description = "the TEE never submitted evidence", body = ErrorBody),
        (status = 409, description = "the TEE is admitted already", body = ErrorBody),
        (status = 422, description = "its evidence is refused, with the reason", body = ErrorBody),
    ))]
pub async fn tee_admission(
    State(api): State<Api>,
    Path(address): Path<String>,
) -> Result<Json<AdmissionView>> {
    let tee = parse_address(&address)?;
    Ok(Json(verify_admission(&api, tee, None).await?))
}

/// [`tee_admission`] for hardware evidence: the body is the quote's collateral, JSON as Intel
/// PCS or a PCCS serves it (the format of `medshare governance admit-tee --collateral`), at
/// most 256 KiB. Verified at this server's clock under the default TCB policy (`UpToDate`
/// only).
#[utoipa::path(post, path = "/api/tees/{address}/admission",
    params(("address" = String, Path, description = "the TEE's address")),
    request_body(content = String, content_type = "application/json",
        description = "the quote's collateral (dcap-qvl's QuoteCollateralV3 JSON)"),
    responses(
        (status = 200, body = AdmissionView),
        (status = 400, description = "a malformed address or collateral", body = ErrorBody),
        (status = 404, description = "the TEE never submitted evidence", body = ErrorBody),
        (status = 409, description = "the TEE is admitted already", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "its evidence is refused, with the reason", body = ErrorBody),
    ))]
pub async fn tee_admission_with_collateral(
    State(api): State<Api>,
    Path(address): Path<String>,
    body: Body,
) -> Result<Json<AdmissionView>> {
    let tee = parse_address(&address)?;
    let bytes = read_body(body, MAX_COLLATERAL_BYTES).await?;
    let collateral =
        medshare_attestation::Collateral::from_json(&bytes).map_err(|e| Error::BadParameter {
            what: "collateral",
            why: e.to_string(),
        })?;
    Ok(Json(verify_admission(&api, tee, Some(&collateral)).await?))
}

/// Reads `tee`'s submission as `Governance::admit` does and verifies it with this deployment's
/// expectations; signs nothing.
async fn verify_admission(
    api: &Api,
    tee: Address,
    collateral: Option<&medshare_attestation::Collateral>,
) -> Result<AdmissionView> {
    let chain = &api.chain;
    let info = chain.tee_info(tee).await?;
    if info.admitted {
        return Err(Error::Conflict(format!("TEE {tee} is admitted already")));
    }
    let Some(evidence) = chain.tee_evidence(tee).await? else {
        return Err(Error::NotFound(format!(
            "TEE {tee} never submitted evidence (`medshare enclave register` submits it)"
        )));
    };
    let public_key = chain.public_key_of(tee).await?;
    // The sealers as `admit-tee` determines them by default: the sealer of the node's latest
    // block, none on a node that signs no headers.
    let sealers = medshare_parties::tee::sealers_of(chain.ledger().as_ref())
        .await
        .unwrap_or_default();
    let now = medshare_parties::now();
    let policy = medshare_attestation::Policy::strict();
    let expect = medshare_parties::governance::Expectations {
        sealers: &sealers,
        accept_simulated: chain.accept_simulated().await?,
        accept_unverified_headers: chain.accept_unverified_headers().await?,
        collateral,
        now,
        tcb_policy: &policy,
    };
    let admission = medshare_parties::governance::verify_admission(
        tee,
        &public_key,
        &evidence,
        info.evidence_hash,
        chain.chain_id(),
        chain.deployment(),
        &expect,
    )
    .map_err(|e| match e {
        medshare_parties::Error::AdmissionRefused { tee, reason } => {
            Error::AdmissionRefused(format!("TEE {tee} cannot be admitted: {reason}"))
        }
        other => Error::AdmissionRefused(other.to_string()),
    })?;
    Ok(AdmissionView {
        tee: admission.tee.to_string(),
        evidence_hash: admission.evidence_hash.to_string(),
        measurement: admission.measurement.to_string(),
        evidence_kind: evidence_kind_name(admission.kind).into(),
        evidence_kind_code: admission.kind as u8,
        unverified_headers: admission.unverified_headers,
        tcb_status: admission.tcb_status,
        advisory_ids: admission.advisory_ids,
        measurement_allowed: chain.is_measurement_allowed(admission.measurement).await?,
        sealers: sealers.iter().map(ToString::to_string).collect(),
        verified_at: now,
    })
}

/// A read-only call (`eth_call`) of one of the deployment's contracts: a view the pages read,
/// or a transaction tried before the browser signs it (with `from`: also the gas it needs).
/// A call that reverts is answered 422 with the contract's error decoded.
#[utoipa::path(post, path = "/api/calls", request_body = CallRequest,
    responses(
        (status = 200, body = CallResult),
        (status = 400, description = "not a call of one of the deployment's contracts", body = ErrorBody),
        (status = 422, description = "the call reverts", body = ErrorBody),
    ))]
pub async fn call(State(api): State<Api>, body: Body) -> Result<Json<CallResult>> {
    let bytes = read_body(body, 2 * MAX_TRANSACTION_BYTES + 256).await?;
    let request: CallRequest =
        serde_json::from_slice(&bytes).map_err(|e| Error::BadJson(e.to_string()))?;
    let to = parse_address(&request.to)?;
    let d = api.chain.deployment();
    let contract = [
        (d.registration, "Registration"),
        (d.data, "Data"),
        (d.model, "Model"),
        (d.authorization, "Authorization"),
        (d.audit, "Audit"),
    ]
    .into_iter()
    .find_map(|(a, name)| (a == to).then_some(name))
    .ok_or_else(|| Error::BadParameter {
        what: "to",
        why: format!("{to} is not one of the deployment's contracts"),
    })?;
    let data: Bytes = request.data.parse().map_err(|e| Error::BadParameter {
        what: "data",
        why: format!("not 0x-prefixed hex: {e}"),
    })?;
    let from = request.from.as_deref().map(parse_address).transpose()?;
    let mut tx = medshare_ledger::TransactionRequest::default().input(data.into());
    tx.to = Some(to.into());
    tx.from = from;
    let reverted = |e: medshare_ledger::Error| match e {
        medshare_ledger::Error::Reverted { data } => Error::Reverted(format!(
            "{contract} refuses the call: {}",
            medshare_contracts::decode_revert(&data).unwrap_or_else(|| if data.is_empty() {
                "it reverted without a reason".into()
            } else {
                format!("unknown revert data {data}")
            })
        )),
        other => Error::Ledger(other),
    };
    let output = api.chain.ledger().call(&tx).await.map_err(reverted)?;
    let gas = match from {
        Some(_) => Some(
            api.chain
                .ledger()
                .estimate_gas(&tx)
                .await
                .map_err(reverted)?,
        ),
        None => None,
    };
    Ok(Json(CallResult {
        output: output.to_string(),
        gas,
    }))
}

/// A patient's audit trail: every use of its records, oldest first.
#[utoipa::path(get, path = "/api/owners/{owner}/audit",
    params(("owner" = String, Path, description = "the patient's address"), PageQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody)))]
pub async fn audit_of_owner(
    State(api): State<Api>,
    Path(owner): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<AuditPage>> {
    let owner = parse_address(&owner)?;
    let all = api.chain.audit_of_owner(owner).await?;
    let (offset, limit) = page_bounds(&page)?;
    let items = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|l| {
            let e = &l.event;
            AuditEntry {
                job: e.jobId.to_string(),
                record: e.ciphertextHash.to_string(),
                demander: e.demander.to_string(),
                model_hash: e.modelHash.to_string(),
                requirement_hash: e.requirementHash.to_string(),
                model_hash_ok: e.modelHashOk,
                record_hash_ok: e.recordHashOk,
                outcome: UseOutcome::try_from(e.outcome)
                    .map_or("unknown", outcome_name)
                    .into(),
                epsilon_milli: e.epsilonMilli,
                tee: e.tee.to_string(),
                view_block: e.viewBlock,
                timestamp: e.timestamp,
                block: l.block_number,
            }
        })
        .collect();
    Ok(Json(AuditPage {
        items,
        total: all.len(),
        offset,
    }))
}

/// Relays a transaction the browser signed to the node. The body must be one signed EIP-2718
/// transaction for this chain; anything else is refused before the node sees it.
#[utoipa::path(post, path = "/api/transactions", request_body = SignedTransaction,
    responses(
        (status = 200, body = TransactionAccepted),
        (status = 400, description = "not one signed transaction for this chain", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "the node refused it", body = ErrorBody),
    ))]
pub async fn send_transaction(
    State(api): State<Api>,
    body: Body,
) -> Result<Json<TransactionAccepted>> {
    // Hex doubles the size; the JSON wrapper adds a few bytes.
    let bytes = read_body(body, 2 * MAX_TRANSACTION_BYTES + 64).await?;
    let request: SignedTransaction =
        serde_json::from_slice(&bytes).map_err(|e| Error::BadJson(e.to_string()))?;
    let raw: Bytes = request
        .raw
        .parse()
        .map_err(|e| Error::BadTransaction(format!("`raw` is not 0x-prefixed hex: {e}")))?;
    let mut slice = raw.as_ref();
    let envelope = TxEnvelope::decode_2718(&mut slice)
        .map_err(|e| Error::BadTransaction(format!("not an EIP-2718 transaction: {e}")))?;
    if !slice.is_empty() {
        return Err(Error::BadTransaction(format!(
            "{} bytes follow the transaction",
            slice.len()
        )));
    }
    let from = envelope
        .recover_signer()
        .map_err(|e| Error::BadTransaction(format!("its signature does not recover: {e}")))?;
    let chain_id = api.chain.chain_id();
    match alloy_consensus::Transaction::chain_id(&envelope) {
        Some(id) if id == chain_id => {}
        other => {
            return Err(Error::BadTransaction(format!(
                "it is signed for chain {}, this is chain {chain_id}",
                other.map_or_else(|| "none (pre-EIP-155)".into(), |id| id.to_string())
            )));
        }
    }
    let hash = api
        .chain
        .ledger()
        .send_raw_transaction(raw)
        .await
        .map_err(|e| Error::Refused(e.to_string()))?;
    Ok(Json(TransactionAccepted {
        hash: hash.to_string(),
        from: from.to_string(),
    }))
}

/// A relayed transaction's receipt, once mined (404 until then).
#[utoipa::path(get, path = "/api/transactions/{hash}/receipt",
    params(("hash" = String, Path, description = "the transaction hash")),
    responses((status = 200, body = Receipt), (status = 404, description = "not mined (yet)", body = ErrorBody)))]
pub async fn receipt(State(api): State<Api>, Path(hash): Path<String>) -> Result<Json<Receipt>> {
    let hash = parse_hash("transaction hash", &hash)?;
    let Some(r) = api.chain.ledger().receipt(hash).await? else {
        return Err(Error::NotFound(format!("no receipt for {hash} (yet)")));
    };
    Ok(Json(Receipt {
        hash: hash.to_string(),
        success: r.status(),
        block: r.block_number,
        gas_used: r.gas_used,
    }))
}

/// Stores a record's ciphertext under its SHA-256 (HDS_i). The body must hash to the key.
#[utoipa::path(put, path = "/api/objects/records/{hash}",
    params(("hash" = String, Path, description = "hex SHA-256 of the body")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, body = ObjectStored),
        (status = 413, body = ErrorBody),
        (status = 422, description = "the body does not hash to the key", body = ErrorBody),
    ))]
pub async fn put_record_object(
    State(api): State<Api>,
    Path(hash): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<ObjectStored>)> {
    put_content_addressed(&api, &hash, body, Key::record).await
}

/// A record's ciphertext.
#[utoipa::path(get, path = "/api/objects/records/{hash}",
    params(("hash" = String, Path, description = "hex SHA-256 of the object")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn get_record_object(
    State(api): State<Api>,
    Path(hash): Path<String>,
) -> Result<Response> {
    get_object(&api, &hash, Key::record).await
}

/// Stores a job's encrypted result CMRT_j under its hash HCMRT_j. The body must hash to the
/// key.
#[utoipa::path(put, path = "/api/objects/results/{hash}",
    params(("hash" = String, Path, description = "hex SHA-256 of the body")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, body = ObjectStored),
        (status = 413, body = ErrorBody),
        (status = 422, description = "the body does not hash to the key", body = ErrorBody),
    ))]
pub async fn put_result_object(
    State(api): State<Api>,
    Path(hash): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<ObjectStored>)> {
    put_content_addressed(&api, &hash, body, Key::result).await
}

/// A job's encrypted result.
#[utoipa::path(get, path = "/api/objects/results/{hash}",
    params(("hash" = String, Path, description = "hex SHA-256 of the object")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn get_result_object(
    State(api): State<Api>,
    Path(hash): Path<String>,
) -> Result<Response> {
    get_object(&api, &hash, Key::result).await
}

/// The TEE's signature SMRT_j over a job's result (`{"job", "tee", "signature"}`), stored beside
/// the encrypted result by the TEE's host.
#[utoipa::path(get, path = "/api/objects/results/{hash}/meta",
    params(("hash" = String, Path, description = "hex SHA-256 of the encrypted result")),
    responses((status = 200, content_type = "application/json", body = String), (status = 404, body = ErrorBody)))]
pub async fn get_result_meta(State(api): State<Api>, Path(hash): Path<String>) -> Result<Response> {
    let key = Key::result_meta(&parse_hex32("object key", &hash)?);
    let bytes = api.store.get_at_most(&key, MAX_META_BYTES as u64).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// Stores a record's TD_i and US_i (`records/<HDS_i>.td.json`) beside its ciphertext. Accepted
/// only if it is one Record whose ciphertext hash is the key, signed (EIP-712, this deployment's
/// Data contract) by the Record's owner; it replaces metadata already stored only when both are
/// the same owner's. Store it before the ciphertext: nobody else knows the hash yet.
#[utoipa::path(put, path = "/api/objects/records/{hash}/meta",
    params(("hash" = String, Path, description = "hex SHA-256 of the record's ciphertext")),
    request_body(content = String, content_type = "application/json",
        description = "{\"record\": TD_i, \"signature\": US_i}"),
    responses(
        (status = 201, body = ObjectStored),
        (status = 400, description = "not one signed Record for this key", body = ErrorBody),
        (status = 409, description = "another owner's metadata is stored under this key", body = ErrorBody),
        (status = 413, body = ErrorBody),
    ))]
pub async fn put_record_meta(
    State(api): State<Api>,
    Path(hash): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<ObjectStored>)> {
    let expected = parse_hex32("object key", &hash)?;
    let bytes = read_body(body, MAX_META_BYTES).await?;
    let meta = signed_meta(&api, &bytes, &expected)?;
    let key = Key::record_meta(&expected);
    match api.store.get_at_most(&key, MAX_META_BYTES as u64).await {
        Ok(existing) => {
            let owner = serde_json::from_slice::<RecordMeta>(&existing)
                .map(|m| m.record.owner)
                .ok();
            if owner != Some(meta.record.owner) {
                return Err(Error::Conflict(format!(
                    "metadata of another owner is stored under {}: it is not replaced",
                    hex::encode(expected)
                )));
            }
        }
        Err(medshare_storage::Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    store(&api, key, &bytes).await
}

/// A record's TD_i and US_i.
#[utoipa::path(get, path = "/api/objects/records/{hash}/meta",
    params(("hash" = String, Path, description = "hex SHA-256 of the record's ciphertext")),
    responses((status = 200, content_type = "application/json", body = String), (status = 404, body = ErrorBody)))]
pub async fn get_record_meta(State(api): State<Api>, Path(hash): Path<String>) -> Result<Response> {
    let key = Key::record_meta(&parse_hex32("object key", &hash)?);
    let bytes = api.store.get_at_most(&key, MAX_META_BYTES as u64).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// `bytes` as one RecordMeta for the ciphertext hash `expected`, signed by its owner under this
/// deployment's Data domain.
fn signed_meta(api: &Api, bytes: &[u8], expected: &[u8; 32]) -> Result<RecordMeta> {
    let bad = |why: String| Error::BadParameter {
        what: "record metadata",
        why,
    };
    let meta: RecordMeta = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not {{\"record\", \"signature\"}}: {e}")))?;
    if meta.record.ciphertextHash.0 != *expected {
        return Err(bad(format!(
            "it describes the ciphertext {}, not {}",
            hex::encode(meta.record.ciphertextHash),
            hex::encode(expected)
        )));
    }
    let signature = Signature::from_slice(&meta.signature)
        .map_err(|e| bad(format!("the signature is malformed: {e}")))?;
    let domain = Domain::new(api.chain.chain_id(), api.chain.deployment().data);
    let signer = eip712::recover(&domain, &meta.record, &signature)
        .map_err(|e| bad(format!("the signature does not recover: {e}")))?;
    if signer != meta.record.owner {
        return Err(bad(format!(
            "it is signed by {signer}, not by the record's owner {}",
            meta.record.owner
        )));
    }
    Ok(meta)
}

async fn put_content_addressed(
    api: &Api,
    hash: &str,
    body: Body,
    key_of: fn(&[u8; 32]) -> Key,
) -> Result<(StatusCode, Json<ObjectStored>)> {
    let expected = parse_hex32("object key", hash)?;
    let bytes = read_body(body, MAX_BODY_BYTES).await?;
    let actual: [u8; 32] = Sha256::digest(&bytes).into();
    if actual != expected {
        return Err(Error::HashMismatch {
            expected: hex::encode(expected),
            actual: hex::encode(actual),
        });
    }
    store(api, key_of(&expected), &bytes).await
}

/// Stores `bytes` under `key`: 201 with what was stored.
async fn store(api: &Api, key: Key, bytes: &[u8]) -> Result<(StatusCode, Json<ObjectStored>)> {
    api.store.put(&key, bytes.to_vec()).await?;
    Ok((
        StatusCode::CREATED,
        Json(ObjectStored {
            key: key.to_string(),
            bytes: bytes.len(),
        }),
    ))
}

async fn get_object(api: &Api, hash: &str, key_of: fn(&[u8; 32]) -> Key) -> Result<Response> {
    let key = key_of(&parse_hex32("object key", hash)?);
    let bytes = api.store.get_at_most(&key, MAX_BODY_BYTES as u64).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// Reads at most `max` bytes of `body`, refusing a longer one without reading it all.
async fn read_body(body: Body, max: usize) -> Result<axum::body::Bytes> {
    axum::body::to_bytes(body, max)
        .await
        .map_err(|_| Error::TooLarge { max })
}

fn page_bounds(page: &PageQuery) -> Result<(usize, usize)> {
    let limit = page.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::BadParameter {
            what: "limit",
            why: format!("{limit} is not between 1 and {MAX_PAGE}"),
        });
    }
    Ok((page.offset.unwrap_or(0), limit))
}

fn parse_address(s: &str) -> Result<Address> {
    s.parse().map_err(|e| Error::BadParameter {
        what: "address",
        why: format!("{s:?} is not a 0x-prefixed 20-byte hex address: {e}"),
    })
}

fn parse_hash(what: &'static str, s: &str) -> Result<B256> {
    s.parse().map_err(|e| Error::BadParameter {
        what,
        why: format!("{s:?} is not 32 bytes of hex: {e}"),
    })
}

/// A storage key's hash: exactly 64 lowercase hex digits, as the store names objects.
fn parse_hex32(what: &'static str, s: &str) -> Result<[u8; 32]> {
    let bad = |why: &str| Error::BadParameter {
        what,
        why: format!("{s:?} {why}"),
    };
    if s.len() != 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad("is not 64 lowercase hex digits"));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| bad("is not hex"))?;
    Ok(out)
}

fn status_name(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Unknown => "unknown",
        JobStatus::Pending => "pending",
        JobStatus::Approved => "approved",
        JobStatus::Rejected => "rejected",
        JobStatus::Deployed => "deployed",
        JobStatus::ModelInvalid => "model_invalid",
        JobStatus::Completed => "completed",
        JobStatus::ResultDisputed => "result_disputed",
    }
}

fn evidence_kind_name(kind: medshare_contracts::EvidenceKind) -> &'static str {
    match kind {
        medshare_contracts::EvidenceKind::Simulated => "simulated",
        medshare_contracts::EvidenceKind::SgxDcap => "sgx_dcap",
        medshare_contracts::EvidenceKind::Tdx => "tdx",
    }
}

fn outcome_name(outcome: UseOutcome) -> &'static str {
    match outcome {
        UseOutcome::Used => "used",
        UseOutcome::TrainingFailed => "training_failed",
        UseOutcome::RefusedIntegrity => "refused_integrity",
        UseOutcome::RefusedKey => "refused_key",
        UseOutcome::RefusedContent => "refused_content",
        UseOutcome::RefusedBudget => "refused_budget",
    }
}
