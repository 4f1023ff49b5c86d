// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {vm, Log, Wallet} from "./Cheats.sol";
import {Registration} from "../../src/Registration.sol";
import {Data} from "../../src/Data.sol";
import {Model} from "../../src/Model.sol";
import {Authorization} from "../../src/Authorization.sol";
import {Audit} from "../../src/Audit.sol";
import {
    Record, Role, EvidenceKind, JobStatus, AuditEntry, UseOutcome, IPrivacyBudgets
} from "../../src/MedshareTypes.sol";

// The protocol's hashes, written out again here (not taken from MedshareTypes) so that the
// handler's model of the contracts is independent of them.
uint32 constant INF = type(uint32).max;
bytes32 constant RECORD_TYPEHASH = keccak256(
    "Record(address owner,bytes32 recordId,bytes32 dataType,bytes32 storageIndex,bytes32 ciphertextHash,uint64 timestamp,bytes cm,bytes rUg,bytes32 padCommitment,address tee)"
);
bytes32 constant CONSENT_TYPEHASH = keccak256(
    "Consent(bytes32 ciphertextHash,bytes32 jobId,bytes rCPkC,uint32 budgetMilli,uint256 nonce,uint256 deadline)"
);
bytes32 constant SUBMISSION_TYPEHASH = keccak256(
    "ModelSubmission(address demander,bytes32 modelHash,bytes32 requirementHash,bytes32 dataType,uint64 timestamp,uint32 minCohort,uint32 epsilonMilli)"
);
bytes32 constant DOMAIN_TYPEHASH =
    keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

/// Drives the five medshare contracts for forge's invariant fuzzer.
///
/// Every external state-changing function of every contract has one entry point here. Each
/// entry point turns forge's random seeds into a call by a party chosen at random — usually the
/// party the call is meant for, one time in four anyone at all (admins, patients, demanders,
/// reviewers, admitted / submitted / revoked TEEs, strangers) — with arguments drawn from what
/// exists (records, jobs, grants, recent blocks), sometimes deliberately wrong ones.
///
/// The handler keeps a ghost model of the protocol (roles, admissions, records, jobs, grants,
/// policies, budgets, nonces) and, before each call, works out from the model alone whether the
/// call must succeed. Then:
///   * the call does what the model says and fails: the entry point reverts with the contract's
///     error (forge counts a revert; no state changed);
///   * the call does what the model says and succeeds: the model is updated and the entry
///     point's success counter goes up;
///   * the call does otherwise: `unexpectedOutcomes` goes up (never reverted away).
/// Every log of every successful call is also checked against the model as it was before the
/// call (`_scan`): who may release a pad, post as a TEE, approve a job, or govern. The invariant
/// test (`test/Invariants.t.sol`) asserts the results through the `check*` views.
contract Handler {
    // ------------------------------------------------------------------ the deployment

    Registration public registration;
    Data public data;
    Model public model;
    Authorization public authorization;
    Audit public audit;

    // ------------------------------------------------------------------ actors

    address public gov; // deployer, first admin
    address[] internal actors; // everyone below
    address[] internal patients;
    address[] internal demanders;
    address[] internal reviewers;
    address[] internal tees;
    mapping(address => uint256) internal keyOf;
    mapping(address => bytes) internal pubOf;

    bytes32[3] internal dataTypes;
    bytes32[3] internal measurements;

    // ------------------------------------------------------------------ ghost model

    struct Party {
        Role role;
        bool active;
        bool admitted;
        EvidenceKind kind;
        bool unverified;
        bytes32 measurement;
        bytes32 evidenceHash;
        bool everReviewer;
    }

    struct Rules {
        bool set;
        uint32 minCohort;
        uint32 maxEps;
        bool allowNonPrivate;
        bytes32 schema;
    }

    struct Job {
        address demander;
        JobStatus status;
        bytes32 dataType;
        uint32 eps;
        uint32 batches;
        bytes32 training;
        address approver;
        bool approvedByReviewer;
        address verifier;
    }

    struct Budget {
        uint32 total;
        uint32 spent;
    }

    struct Pair {
        uint256 rec;
        bytes32 job;
    }

    mapping(address => Party) internal gParty;
    mapping(address => bool) internal gAdmin;
    address[] internal adminList;
    mapping(address => uint256) internal adminPos; // 1 + index in adminList
    mapping(bytes32 => bool) internal gMeasAllowed;
    bool internal gAcceptSim;
    bool internal gAcceptUnv;
    mapping(bytes32 => Rules) internal gRules;

    Record[] internal recs; // every record version registered
    bytes[] internal pads; // pads[i]: r_C·PK_C of recs[i]
    bytes32[] internal recCt; // recs[i].ciphertextHash
    bytes32[] internal recKey; // what Data holds while recs[i] is live: keccak256(owner, hashStruct)
    bytes32[] internal cts; // every ciphertext hash registered
    mapping(bytes32 => uint8) internal gSlot; // 0 never registered, 1 holds a commitment, 2 tombstone
    mapping(bytes32 => bytes32) internal gOwned; // ownedCommitment stored while gSlot == 1
    uint256 internal nextCt;
    uint64 internal oldViewBlock; // a view kept from before the last advanceBlocks
    bytes32 internal oldViewHash;

    bytes32[] internal jobIds;
    mapping(bytes32 => Job) internal gJob;

    mapping(bytes32 => bool) internal gGranted; // by keccak256(commitment, jobId)
    mapping(bytes32 => bool) internal gRevoked; // revoked and not granted again since
    Pair[] internal pairs; // every (record, job) a grant or revoke was tried on
    mapping(bytes32 => uint256) internal pairIndex; // 1 + index in pairs
    mapping(address => mapping(bytes32 => bool)) internal gPolicy;
    mapping(bytes32 => Budget) internal gBudget;
    mapping(address => uint256) internal gNonce;
    /// Bulk consents (one record each here, so a record's Merkle path is empty): live by
    /// keccak256(owner, job, root), withdrawn records by keccak256(that key, commitment).
    mapping(bytes32 => bool) internal gBatchLive;
    mapping(bytes32 => bool) internal gBatchWithdrawn;
    struct BatchRef {
        address owner;
        bytes32 job;
        uint256 rec;
    }
    BatchRef[] internal batchRefs;

    // What the call being made consents to (read by `_scan`): 0 nothing, 1 a grant of
    // ctxRecs[0] to ctxJob by ctxConsenter, 2 ctxConsenter's own release of ctxRecs' pads.
    uint8 internal ctxKind;
    address internal ctxConsenter;
    bytes32 internal ctxJob;
    uint256[] internal ctxRecs;

    // What the current call may change. After every call each invariant checks these (and its
    // violation counter, which covers every log of every call); `afterInvariant` checks all
    // seven over everything at the end of each run (`full`).
    address[] internal tActors;
    bytes32[] internal tCts;
    bytes32[] internal tJobs;
    bytes32[] internal tDts;
    uint256[] internal tPairs;
    bool internal tTees; // every TEE's activeness may change

    modifier entry() {
        delete tActors;
        delete tCts;
        delete tJobs;
        delete tDts;
        delete tPairs;
        tTees = false;
        _;
    }

    // ------------------------------------------------------------------ findings

    uint256 public padViolations; // a pad released or a grant made without its owner's consent
    uint256 public teeViolations; // a TEE statement, debit or audit entry by an inactive TEE
    uint256 public jobViolations; // a job approved by a non-reviewer, or run without approval
    uint256 public govViolations; // a governance event caused by a non-admin
    uint256 public unexpectedOutcomes; // a call that succeeded or failed against the model
    string public firstViolation;

    // Successful calls of this run, per entry point (by selector), and in all.
    mapping(bytes4 => uint256) public okCalls;
    uint256 public okTotal;
    uint256 public padsReleased;

    // ------------------------------------------------------------------ setup

    constructor() {
        gov = _wallet("gov");
        _wallet("gov2");
        for (uint256 i = 0; i < 4; i++) patients.push(_wallet(string.concat("patient", _digit(i))));
        for (uint256 i = 0; i < 3; i++) demanders.push(_wallet(string.concat("demander", _digit(i))));
        for (uint256 i = 0; i < 5; i++) reviewers.push(_wallet(string.concat("reviewer", _digit(i))));
        for (uint256 i = 0; i < 7; i++) tees.push(_wallet(string.concat("tee", _digit(i))));
        _wallet("stranger0");
        _wallet("stranger1");
        dataTypes = [keccak256("medshare/heart"), keccak256("medshare/diabetes"), keccak256("medshare/unruled")];
        measurements = [keccak256("mrenclave-1"), keccak256("mrenclave-2"), keccak256("mrenclave-3")];
    }

    /// Deploys the five contracts as `medshare_contracts::Deployment` does (one deployer, in
    /// order, Model given Authorization's predicted address) and brings the system to a typical
    /// starting state through the entry points' own model: two admitted TEEs (one SGX, one
    /// simulated on unsigned headers, both accepted), one submitted but not admitted, two
    /// reviewers, three patients with records, two demanders with jobs, rules for one data type,
    /// a grant and a policy. Everything must succeed.
    function bootstrap() external {
        require(address(registration) == address(0), "bootstrapped");
        uint256 nonce = vm.getNonce(gov);
        address predicted = vm.computeCreateAddress(gov, nonce + 3);
        vm.startPrank(gov);
        registration = new Registration();
        data = new Data(registration);
        model = new Model(registration, IPrivacyBudgets(predicted));
        authorization = new Authorization(registration, data, model);
        audit = new Audit(registration);
        vm.stopPrank();
        require(address(authorization) == predicted, "Authorization not at its predicted address");
        vm.label(address(registration), "Registration");
        vm.label(address(data), "Data");
        vm.label(address(model), "Model");
        vm.label(address(authorization), "Authorization");
        vm.label(address(audit), "Audit");
        _setAdmin(gov, true);

        _setMeasurementAllowed(gov, measurements[0], true);
        _setMeasurementAllowed(gov, measurements[1], true);
        _setAcceptSimulated(gov, true);
        _setAcceptUnverifiedHeaders(gov, true);
        for (uint256 i = 0; i < 3; i++) _submitTee(tees[i], pubOf[tees[i]], abi.encodePacked("evidence of tee", i));
        _admitTee(gov, tees[0], gParty[tees[0]].evidenceHash, measurements[0], EvidenceKind.SgxDcap, false);
        _admitTee(gov, tees[1], gParty[tees[1]].evidenceHash, measurements[1], EvidenceKind.Simulated, true);
        _appointReviewer(gov, pubOf[reviewers[0]]);
        _appointReviewer(gov, pubOf[reviewers[1]]);
        for (uint256 i = 0; i < 3; i++) _register(patients[i], Role.User, pubOf[patients[i]]);
        for (uint256 i = 0; i < 2; i++) _register(demanders[i], Role.Demander, pubOf[demanders[i]]);
        _setDataTypeRules(gov, dataTypes[0], 2, 5000, true, keccak256("heart schema"));
        // Two records of each patient (heart data), three heart jobs (one pending, one approved,
        // one deployed) and a diabetes job, a grant to the deployed job and a standing policy with
        // released pads: every entry point has material from the first call on.
        for (uint256 p = 0; p < 3; p++) _bootstrapRecords(patients[p], dataTypes[0], 2);
        _bootstrapRecords(patients[0], dataTypes[1], 1);
        bytes32[3] memory jobs;
        for (uint256 k = 0; k < 3; k++) {
            jobs[k] = _submitModel(
                demanders[k % 2], dataTypes[0], keccak256(abi.encode("model", k)), keccak256("requirement"),
                uint64(block.timestamp), 2, 1000
            );
        }
        _submitModel(demanders[0], dataTypes[1], keccak256("model"), keccak256("requirement"), 1, 50, 1000);
        _approveModel(reviewers[0], jobs[1]);
        _approveModel(reviewers[1], jobs[2]);
        _postModelVerification(tees[0], jobs[2], true, true, uint64(block.number - 1), blockhash(block.number - 1));
        _grant(patients[0], 0, jobs[2], pads[0], 3000);
        _setPolicy(patients[1], dataTypes[0], true);
        delete ctxRecs;
        ctxRecs.push(2);
        ctxRecs.push(3);
        ctxKind = 2;
        ctxConsenter = patients[1];
        Record[] memory batch = new Record[](2);
        bytes[] memory batchPads = new bytes[](2);
        (batch[0], batch[1], batchPads[0], batchPads[1]) = (recs[2], recs[3], pads[2], pads[3]);
        if (_exec(patients[1], address(authorization), abi.encodeCall(Authorization.releasePads, (batch, batchPads, 2000)), true)) {
            _setGhostBudget(recs[2].ciphertextHash, 2000);
            _setGhostBudget(recs[3].ciphertextHash, 2000);
        }
        require(unexpectedOutcomes == 0, firstViolation);
        // Forget bootstrap's successes: counters are about the fuzzed calls.
        okTotal = 0;
    }

    function _bootstrapRecords(address owner, bytes32 dt, uint256 n) internal {
        Record[] memory batch = new Record[](n);
        bytes[] memory batchPads = new bytes[](n);
        bytes32[] memory hashes = new bytes32[](n);
        bytes32[] memory commitments = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            (batch[i], batchPads[i]) = _newRecord(owner, dt, 1 + i); // TEE: an active one
            hashes[i] = batch[i].ciphertextHash;
            commitments[i] = _commit(batch[i]);
        }
        _registerRecords(owner, dt, batch, batchPads, hashes, commitments);
    }

    /// The entry points forge calls (everything else here is a view or the bootstrap).
    function selectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](36);
        s[0] = this.addAdmin.selector;
        s[1] = this.removeAdmin.selector;
        s[2] = this.appointReviewer.selector;
        s[3] = this.removeReviewer.selector;
        s[4] = this.revokeTee.selector;
        s[5] = this.setMeasurementAllowed.selector;
        s[6] = this.setAcceptSimulated.selector;
        s[7] = this.setAcceptUnverifiedHeaders.selector;
        s[8] = this.admitTee.selector;
        s[9] = this.register.selector;
        s[10] = this.submitTee.selector;
        s[11] = this.registerRecords.selector;
        s[12] = this.updateRecord.selector;
        s[13] = this.deleteRecord.selector;
        s[14] = this.setDataTypeRules.selector;
        s[15] = this.submitModel.selector;
        s[16] = this.approveModel.selector;
        s[17] = this.rejectModel.selector;
        s[18] = this.postModelVerification.selector;
        s[19] = this.postRecordVerifications.selector;
        s[20] = this.debitBudgets.selector;
        s[21] = this.postResult.selector;
        s[22] = this.reportResultFailure.selector;
        s[23] = this.grant.selector;
        s[24] = this.grantWithSignature.selector;
        s[25] = this.revoke.selector;
        s[26] = this.setPolicy.selector;
        s[27] = this.releasePads.selector;
        s[28] = this.setBudget.selector;
        s[29] = this.debit.selector;
        s[30] = this.recordUse.selector;
        s[31] = this.advanceBlocks.selector;
        s[32] = this.grantMany.selector;
        s[33] = this.grantBatch.selector;
        s[34] = this.revokeBatch.selector;
        s[35] = this.revokeFromBatch.selector;
    }

    // ================================================================== Registration

    function addAdmin(uint256 senderSeed, uint256 targetSeed) external entry {
        address sender = _governor(senderSeed);
        address target = _anyActor(targetSeed);
        _touch(sender);
        _touch(target);
        bool expectOk = gAdmin[sender] && !gAdmin[target];
        if (!_exec(sender, address(registration), abi.encodeCall(Registration.addAdmin, (target)), expectOk)) return;
        _setAdmin(target, true);
        _ok();
    }

    function removeAdmin(uint256 senderSeed, uint256 targetSeed) external entry {
        address sender = _governor(senderSeed);
        address target = targetSeed % 2 == 0 ? _admin(targetSeed >> 1) : _anyActor(targetSeed >> 1);
        _touch(sender);
        _touch(target);
        bool expectOk = gAdmin[sender] && gAdmin[target] && adminList.length > 1;
        if (!_exec(sender, address(registration), abi.encodeCall(Registration.removeAdmin, (target)), expectOk)) {
            return;
        }
        _setAdmin(target, false);
        _ok();
    }

    function appointReviewer(uint256 senderSeed, uint256 keySeed) external entry {
        address sender = _governor(senderSeed);
        bytes memory key;
        if (keySeed % 8 == 0) key = abi.encodePacked(keccak256(abi.encode(keySeed)), uint8(1)); // 33 bytes
        else if (keySeed % 8 < 5) key = pubOf[reviewers[(keySeed >> 3) % reviewers.length]];
        else key = pubOf[_anyActor(keySeed >> 3)];
        _appointReviewer(sender, key);
    }

    function _appointReviewer(address sender, bytes memory key) internal {
        address reviewer = key.length == 64 ? address(uint160(uint256(keccak256(key)))) : address(0);
        _touch(reviewer);
        bool expectOk = gAdmin[sender] && key.length == 64 && gParty[reviewer].role == Role.None;
        if (!_exec(sender, address(registration), abi.encodeCall(Registration.appointReviewer, (key)), expectOk)) {
            return;
        }
        gParty[reviewer].role = Role.Reviewer;
        gParty[reviewer].active = true;
        gParty[reviewer].everReviewer = true;
        _ok();
    }

    function removeReviewer(uint256 senderSeed, uint256 targetSeed) external entry {
        address sender = _governor(senderSeed);
        address target =
            targetSeed % 4 == 0 ? _anyActor(targetSeed >> 2) : reviewers[(targetSeed >> 2) % reviewers.length];
        Party storage p = gParty[target];
        _touch(target);
        bool expectOk = gAdmin[sender] && p.role == Role.Reviewer && p.active;
        if (!_exec(sender, address(registration), abi.encodeCall(Registration.removeReviewer, (target)), expectOk)) {
            return;
        }
        p.active = false;
        _ok();
    }

    function revokeTee(uint256 senderSeed, uint256 targetSeed) external entry {
        address sender = _governor(senderSeed);
        address target = targetSeed % 4 == 0 ? _anyActor(targetSeed >> 2) : tees[(targetSeed >> 2) % tees.length];
        Party storage p = gParty[target];
        _touch(target);
        bool expectOk = gAdmin[sender] && p.role == Role.Tee && p.active;
        if (!_exec(sender, address(registration), abi.encodeCall(Registration.revokeTee, (target)), expectOk)) return;
        p.active = false;
        _ok();
    }

    /// Allows three times in four, disallows otherwise (likewise the two switches below).
    function setMeasurementAllowed(uint256 senderSeed, uint256 measurementSeed) external entry {
        _setMeasurementAllowed(_governor(senderSeed), measurements[measurementSeed % 3], (measurementSeed >> 2) % 4 != 0);
    }

    function _setMeasurementAllowed(address sender, bytes32 m, bool allowed) internal {
        tTees = true;
        bytes memory call = abi.encodeCall(Registration.setMeasurementAllowed, (m, allowed));
        if (!_exec(sender, address(registration), call, gAdmin[sender])) return;
        gMeasAllowed[m] = allowed;
        _ok();
    }

    function setAcceptSimulated(uint256 senderSeed, uint256 acceptSeed) external entry {
        _setAcceptSimulated(_governor(senderSeed), acceptSeed % 4 != 0);
    }

    function _setAcceptSimulated(address sender, bool accepted) internal {
        tTees = true;
        bytes memory call = abi.encodeCall(Registration.setAcceptSimulated, (accepted));
        if (!_exec(sender, address(registration), call, gAdmin[sender])) return;
        gAcceptSim = accepted;
        _ok();
    }

    function setAcceptUnverifiedHeaders(uint256 senderSeed, uint256 acceptSeed) external entry {
        _setAcceptUnverifiedHeaders(_governor(senderSeed), acceptSeed % 4 != 0);
    }

    function _setAcceptUnverifiedHeaders(address sender, bool accepted) internal {
        tTees = true;
        bytes memory call = abi.encodeCall(Registration.setAcceptUnverifiedHeaders, (accepted));
        if (!_exec(sender, address(registration), call, gAdmin[sender])) return;
        gAcceptUnv = accepted;
        _ok();
    }

    function admitTee(uint256 senderSeed, uint256 teeSeed, uint256 argSeed) external entry {
        address sender = _governor(senderSeed);
        address tee = teeSeed % 4 == 0 ? _anyActor(teeSeed >> 2) : tees[(teeSeed >> 2) % tees.length];
        bytes32 evidenceHash = argSeed % 8 == 0 ? keccak256(abi.encode(argSeed)) : gParty[tee].evidenceHash;
        bytes32 m = measurements[(argSeed >> 3) % 3];
        EvidenceKind kind = EvidenceKind((argSeed >> 5) % 3);
        bool unverified = (argSeed >> 7) % 2 == 0;
        _admitTee(sender, tee, evidenceHash, m, kind, unverified);
    }

    function _admitTee(address sender, address tee, bytes32 evidenceHash, bytes32 m, EvidenceKind kind, bool unv)
        internal
    {
        Party storage p = gParty[tee];
        _touch(tee);
        bool expectOk = gAdmin[sender] && p.role == Role.Tee && p.active && !p.admitted
            && evidenceHash == p.evidenceHash && (kind != EvidenceKind.Simulated || gAcceptSim)
            && (!unv || gAcceptUnv) && gMeasAllowed[m];
        bytes memory call = abi.encodeCall(Registration.admitTee, (tee, evidenceHash, m, kind, unv));
        if (!_exec(sender, address(registration), call, expectOk)) return;
        p.admitted = true;
        p.kind = kind;
        p.unverified = unv;
        p.measurement = m;
        _ok();
    }

    function register(uint256 senderSeed, uint8 roleSeed, uint256 keySeed) external entry {
        address sender = senderSeed % 2 == 0 ? _anyActor(senderSeed >> 1) : _unregistered(senderSeed >> 1);
        Role role = Role(roleSeed % 5);
        bytes memory key = keySeed % 4 == 0 ? pubOf[_anyActor(keySeed >> 2)] : pubOf[sender];
        _register(sender, role, key);
    }

    function _register(address sender, Role role, bytes memory key) internal {
        _touch(sender);
        bool expectOk = (role == Role.User || role == Role.Demander) && _owns(sender, key)
            && gParty[sender].role == Role.None;
        if (!_exec(sender, address(registration), abi.encodeCall(Registration.register, (role, key)), expectOk)) {
            return;
        }
        gParty[sender].role = role;
        gParty[sender].active = true;
        _ok();
    }

    function submitTee(uint256 senderSeed, uint256 keySeed, uint256 evidenceSeed) external entry {
        address sender = senderSeed % 4 == 0 ? _anyActor(senderSeed >> 2) : tees[(senderSeed >> 2) % tees.length];
        bytes memory key = keySeed % 4 == 0 ? pubOf[_anyActor(keySeed >> 2)] : pubOf[sender];
        uint256 len = evidenceSeed % 8 == 0 ? 0 : 1 + (evidenceSeed >> 3) % 200;
        bytes memory evidence = new bytes(len);
        for (uint256 i = 0; i < len; i++) evidence[i] = bytes1(uint8(evidenceSeed >> (i % 32)));
        _submitTee(sender, key, evidence);
    }

    function _submitTee(address sender, bytes memory key, bytes memory evidence) internal {
        _touch(sender);
        bool expectOk = evidence.length > 0 && evidence.length <= 16384 && _owns(sender, key)
            && gParty[sender].role == Role.None;
        bytes memory call = abi.encodeCall(Registration.submitTee, (key, evidence));
        if (!_exec(sender, address(registration), call, expectOk)) return;
        gParty[sender].role = Role.Tee;
        gParty[sender].active = true;
        gParty[sender].evidenceHash = keccak256(evidence);
        _ok();
    }

    // ================================================================== Data

    function registerRecords(uint256 senderSeed, uint256 dtSeed, uint256 shapeSeed) external entry {
        address sender = _choose(patients[(senderSeed >> 2) % patients.length], senderSeed);
        bytes32 dt = dataTypes[dtSeed % 3];
        uint256 n = 1 + shapeSeed % 3;
        uint256 mode = (shapeSeed >> 2) % 16;
        Record[] memory batch = new Record[](n);
        bytes[] memory batchPads = new bytes[](n);
        bytes32[] memory hashes = new bytes32[](n);
        bytes32[] memory commitments = new bytes32[](mode == 0 ? n - 1 : n);
        for (uint256 i = 0; i < n; i++) {
            // Now and then a record naming another patient as owner: it never becomes live.
            address owner = (shapeSeed >> (8 + i)) % 8 == 0 ? patients[(shapeSeed >> (12 + i)) % patients.length] : sender;
            (batch[i], batchPads[i]) = _newRecord(owner, dt, shapeSeed >> (16 + 8 * i));
            if (i == 0 && mode == 1) batch[i].ciphertextHash = bytes32(0);
            if (i == 0 && mode == 2 && cts.length > 0) batch[i].ciphertextHash = cts[(shapeSeed >> 40) % cts.length];
            if (i == n - 1 && mode == 3 && n > 1) batch[i].ciphertextHash = batch[0].ciphertextHash;
            hashes[i] = batch[i].ciphertextHash;
            if (i < commitments.length) commitments[i] = mode == 4 ? bytes32(0) : _commit(batch[i]);
        }
        _registerRecords(sender, dt, batch, batchPads, hashes, commitments);
    }

    function _registerRecords(
        address sender,
        bytes32 dt,
        Record[] memory batch,
        bytes[] memory batchPads,
        bytes32[] memory hashes,
        bytes32[] memory commitments
    ) internal {
        uint256 n = hashes.length;
        for (uint256 i = 0; i < n; i++) tCts.push(hashes[i]);
        bool expectOk = n > 0 && commitments.length == n && gParty[sender].role == Role.User;
        for (uint256 i = 0; i < n && expectOk; i++) {
            bytes32 ct = hashes[i];
            expectOk = ct != 0 && commitments[i] != 0 && gSlot[ct] == 0;
            for (uint256 j = 0; j < i; j++) if (hashes[j] == ct) expectOk = false;
        }
        bytes memory call = abi.encodeCall(Data.registerRecords, (dt, hashes, commitments));
        if (!_exec(sender, address(data), call, expectOk)) return;
        for (uint256 i = 0; i < n; i++) {
            bytes32 ct = hashes[i];
            gSlot[ct] = 1;
            gOwned[ct] = keccak256(abi.encode(sender, commitments[i]));
            cts.push(ct);
            _pushRecord(batch[i], batchPads[i]);
        }
        _ok();
    }

    function updateRecord(uint256 recSeed, uint256 senderSeed, uint256 shapeSeed) external entry {
        uint256 i = _record(recSeed, bytes32(0), address(0));
        Record memory old = recs[i];
        address sender = _choose(old.owner, senderSeed);
        (Record memory next, bytes memory nextPad) = _newRecord(old.owner, old.dataType, shapeSeed >> 3);
        uint256 mode = shapeSeed % 8;
        if (mode == 0) next.ciphertextHash = old.ciphertextHash; // same key, new version
        else if (mode == 1) next.ciphertextHash = cts[(shapeSeed >> 3) % cts.length]; // someone's key
        bytes32 commitment = mode == 2 ? bytes32(0) : _commit(next);
        bytes32 ct = next.ciphertextHash;
        tCts.push(old.ciphertextHash);
        tCts.push(ct);
        _touchPairs(old.ciphertextHash, 0, address(0), 0);
        bool expectOk = old.owner == sender && _live(old) && commitment != 0
            && (ct == old.ciphertextHash || gSlot[ct] == 0);
        bytes memory call = abi.encodeCall(Data.updateRecord, (old, ct, commitment));
        if (!_exec(sender, address(data), call, expectOk)) return;
        if (ct != old.ciphertextHash) {
            gSlot[old.ciphertextHash] = 2;
            cts.push(ct);
        }
        gSlot[ct] = 1;
        gOwned[ct] = keccak256(abi.encode(sender, commitment));
        _pushRecord(next, nextPad);
        _ok();
    }

    function deleteRecord(uint256 recSeed, uint256 senderSeed) external entry {
        uint256 i = _record(recSeed, bytes32(0), address(0));
        Record memory rec = recs[i];
        address sender = _choose(rec.owner, senderSeed);
        tCts.push(rec.ciphertextHash);
        _touchPairs(rec.ciphertextHash, 0, address(0), 0);
        bool expectOk = rec.owner == sender && _live(rec);
        if (!_exec(sender, address(data), abi.encodeCall(Data.deleteRecord, (rec)), expectOk)) return;
        gSlot[rec.ciphertextHash] = 2;
        _ok();
    }

    // ================================================================== Model

    function setDataTypeRules(uint256 senderSeed, uint256 dtSeed, uint256 ruleSeed) external entry {
        uint32[7] memory cohorts = [uint32(0), 1, 2, 5, 10, 50, 100];
        uint32[4] memory caps = [uint32(0), 1000, 3000, 10000];
        _setDataTypeRules(
            _governor(senderSeed),
            dataTypes[dtSeed % 3],
            cohorts[ruleSeed % 7],
            caps[(ruleSeed >> 3) % 4],
            (ruleSeed >> 5) % 2 == 0,
            keccak256(abi.encode("schema", (ruleSeed >> 6) % 4))
        );
    }

    function _setDataTypeRules(address sender, bytes32 dt, uint32 minCohort, uint32 maxEps, bool np, bytes32 schema)
        internal
    {
        tDts.push(dt);
        bool expectOk = gAdmin[sender] && minCohort >= 2;
        bytes memory call = abi.encodeCall(Model.setDataTypeRules, (dt, minCohort, maxEps, np, schema));
        if (!_exec(sender, address(model), call, expectOk)) return;
        gRules[dt] = Rules({set: true, minCohort: minCohort, maxEps: maxEps, allowNonPrivate: np, schema: schema});
        _ok();
    }

    function submitModel(uint256 senderSeed, uint256 dtSeed, uint256 specSeed) external entry {
        address sender = _choose(demanders[(senderSeed >> 2) % demanders.length], senderSeed);
        bytes32 dt = dataTypes[dtSeed % 3];
        Rules memory r = gRules[dt];
        uint32 floor = r.set ? r.minCohort : 50;
        uint32 minCohort;
        uint32 eps;
        if (specSeed % 4 == 0) {
            // Anything, often against the rules.
            uint32[5] memory cohorts = [uint32(1), 2, 10, 50, 100];
            uint32[6] memory epsilons = [uint32(0), 500, 1000, 2000, 5000, INF];
            minCohort = cohorts[(specSeed >> 2) % 5];
            eps = epsilons[(specSeed >> 5) % 6];
        } else {
            // What the rules allow.
            minCohort = floor + uint32((specSeed >> 2) % 3);
            eps = r.allowNonPrivate && (specSeed >> 4) % 4 == 0 ? INF : uint32(250 * (1 + (specSeed >> 6) % 8));
            if (r.maxEps != 0 && eps != INF && eps > r.maxEps) eps = r.maxEps;
        }
        bytes32 modelHash = keccak256(abi.encode("model", (specSeed >> 9) % 4));
        bytes32 requirementHash = keccak256(abi.encode("requirement", (specSeed >> 11) % 2));
        uint64 timestamp = uint64(1_700_000_000 + (specSeed >> 12) % 3);
        _submitModel(sender, dt, modelHash, requirementHash, timestamp, minCohort, eps);
    }

    function _submitModel(
        address sender,
        bytes32 dt,
        bytes32 modelHash,
        bytes32 requirementHash,
        uint64 timestamp,
        uint32 minCohort,
        uint32 eps
    ) internal returns (bytes32 jobId) {
        Rules memory r = gRules[dt];
        uint32 floor = r.set ? r.minCohort : 50;
        jobId = keccak256(
            abi.encode(SUBMISSION_TYPEHASH, sender, modelHash, requirementHash, dt, timestamp, minCohort, eps)
        );
        tJobs.push(jobId);
        bool expectOk = gParty[sender].role == Role.Demander && eps != 0 && minCohort >= floor
            && (eps == INF ? r.set && r.allowNonPrivate : (r.maxEps == 0 || eps <= r.maxEps))
            && gJob[jobId].status == JobStatus.None;
        bytes memory call = abi.encodeCall(
            Model.submitModel,
            (modelHash, requirementHash, dt, timestamp, minCohort, eps, "model bytes", "requirement bytes", "SM_j")
        );
        if (!_exec(sender, address(model), call, expectOk)) return jobId;
        gJob[jobId] = Job({
            demander: sender,
            status: JobStatus.Pending,
            dataType: dt,
            eps: eps,
            batches: 0,
            training: bytes32(0),
            approver: address(0),
            approvedByReviewer: false,
            verifier: address(0)
        });
        jobIds.push(jobId);
        _ok();
    }

    function approveModel(uint256 senderSeed, uint256 jobSeed) external entry {
        _approveModel(_reviewer(senderSeed), _job(jobSeed, JobStatus.Pending, JobStatus.Pending));
    }

    function _approveModel(address sender, bytes32 job) internal {
        _touchJob(job);
        bool expectOk = _isReviewer(sender) && gJob[job].status == JobStatus.Pending;
        if (!_exec(sender, address(model), abi.encodeCall(Model.approveModel, (job)), expectOk)) return;
        gJob[job].status = JobStatus.Approved;
        gJob[job].approver = sender;
        gJob[job].approvedByReviewer = true;
        _ok();
    }

    function rejectModel(uint256 senderSeed, uint256 jobSeed) external entry {
        address sender = _reviewer(senderSeed);
        bytes32 job = _job(jobSeed, JobStatus.Pending, JobStatus.Pending);
        _touchJob(job);
        bool expectOk = _isReviewer(sender) && gJob[job].status == JobStatus.Pending;
        if (!_exec(sender, address(model), abi.encodeCall(Model.rejectModel, (job, "no")), expectOk)) return;
        gJob[job].status = JobStatus.Rejected;
        _ok();
    }

    function postModelVerification(uint256 senderSeed, uint256 jobSeed, uint256 viewSeed, uint8 flags) external entry {
        address sender = _tee(senderSeed);
        bytes32 job = _job(jobSeed, JobStatus.Approved, JobStatus.Approved);
        (uint64 vb, bytes32 vh) = _view(viewSeed);
        _postModelVerification(sender, job, flags % 8 != 1, flags % 8 != 2, vb, vh);
    }

    function _postModelVerification(address sender, bytes32 job, bool hashOk, bool signatureOk, uint64 vb, bytes32 vh)
        internal
    {
        _touchJob(job);
        bool expectOk = _teeActive(sender) && _recent(vb, vh) && gJob[job].status == JobStatus.Approved;
        bytes memory call =
            abi.encodeCall(Model.postModelVerification, (job, hashOk, signatureOk, vb, vh, "ST_j"));
        if (!_exec(sender, address(model), call, expectOk)) return;
        gJob[job].status = hashOk && signatureOk ? JobStatus.Deployed : JobStatus.ModelInvalid;
        gJob[job].verifier = sender;
        _ok();
    }

    function postRecordVerifications(uint256 senderSeed, uint256 jobSeed, uint256 viewSeed, uint256 shapeSeed)
        external entry
    {
        address sender = _tee(senderSeed);
        bytes32 job = _job(jobSeed, JobStatus.Deployed, JobStatus.Deployed);
        (uint64 vb, bytes32 vh) = _view(viewSeed);
        uint256 n = shapeSeed % 4;
        bytes32[] memory hashes = _someCts(n, shapeSeed >> 2);
        bool[] memory hashOk = new bool[](n);
        bool[] memory signatureOk = new bool[]((shapeSeed >> 8) % 8 == 0 ? n + 1 : n);
        bytes[] memory sigs = new bytes[](n);
        for (uint256 i = 0; i < n; i++) {
            hashOk[i] = (shapeSeed >> (12 + i)) % 4 != 0;
            signatureOk[i] = true;
            sigs[i] = "ST_i";
        }
        tJobs.push(job);
        bool expectOk = _teeActive(sender) && _recent(vb, vh) && n > 0 && signatureOk.length == n
            && gJob[job].status == JobStatus.Deployed;
        bytes memory call =
            abi.encodeCall(Model.postRecordVerifications, (job, vb, vh, hashes, hashOk, signatureOk, sigs));
        if (!_exec(sender, address(model), call, expectOk)) return;
        _ok();
    }

    function debitBudgets(uint256 senderSeed, uint256 jobSeed, uint256 viewSeed, uint256 shapeSeed) external entry {
        address sender = _tee(senderSeed);
        bytes32 job = _job(jobSeed, JobStatus.Deployed, JobStatus.Deployed);
        Job storage j = gJob[job];
        (uint64 vb, bytes32 vh) = _view(viewSeed);
        uint32 batch = shapeSeed % 8 == 0 ? j.batches + 1 : j.batches;
        bytes32[] memory hashes = (shapeSeed >> 3) % 4 == 0
            ? _someCts((shapeSeed >> 5) % 4, shapeSeed >> 7)
            : _payingCts(1 + (shapeSeed >> 5) % 3, shapeSeed >> 7, j.eps);
        tJobs.push(job);
        for (uint256 i = 0; i < hashes.length; i++) tCts.push(hashes[i]);
        // Mostly the job's own training; sometimes none, sometimes another one.
        uint256 tShape = (shapeSeed >> 9) % 8;
        bytes32 training = tShape == 0
            ? bytes32(0)
            : tShape == 1 ? keccak256(abi.encode(job, shapeSeed)) : j.batches == 0 ? keccak256(abi.encode(job)) : j.training;
        bool expectOk = _teeActive(sender) && _recent(vb, vh) && hashes.length > 0
            && j.status == JobStatus.Deployed && batch == j.batches && training != bytes32(0)
            && (j.batches == 0 || training == j.training);
        // The budgets, as the model says they will be if the debit lands.
        Budget[] memory after_ = new Budget[](hashes.length);
        for (uint256 i = 0; i < hashes.length && expectOk; i++) {
            Budget memory b = gBudget[hashes[i]];
            for (uint256 k = 0; k < i; k++) if (hashes[k] == hashes[i]) b = after_[k];
            if (b.total != INF) {
                if (j.eps == INF || uint256(b.spent) + j.eps > b.total) expectOk = false;
                else b.spent += j.eps;
            }
            after_[i] = b;
        }
        bytes memory call = abi.encodeCall(Model.debitBudgets, (job, batch, training, vb, vh, hashes, new uint32[](hashes.length)));
        if (!_exec(sender, address(model), call, expectOk)) return;
        for (uint256 i = 0; i < hashes.length; i++) gBudget[hashes[i]] = after_[i];
        if (j.batches == 0) j.training = training;
        j.batches += 1;
        _ok();
    }

    function postResult(uint256 senderSeed, uint256 jobSeed, uint256 viewSeed, uint8 shape) external entry {
        address sender = _tee(senderSeed);
        bytes32 job = _job(jobSeed, JobStatus.Deployed, JobStatus.Deployed);
        (uint64 vb, bytes32 vh) = _view(viewSeed);
        uint32 batches = shape % 8 == 0 ? gJob[job].batches + 1 : gJob[job].batches;
        _touchJob(job);
        bool expectOk = _teeActive(sender) && _recent(vb, vh) && batches == gJob[job].batches
            && gJob[job].status == JobStatus.Deployed;
        bytes memory call = abi.encodeCall(Model.postResult, (job, keccak256("HCMRT_j"), vb, vh, batches));
        if (!_exec(sender, address(model), call, expectOk)) return;
        gJob[job].status = JobStatus.Completed;
        _ok();
    }

    function reportResultFailure(uint256 senderSeed, uint256 jobSeed) external entry {
        bytes32 job = _job(jobSeed, JobStatus.Completed, JobStatus.Completed);
        address sender = _choose(gJob[job].demander == address(0) ? demanders[0] : gJob[job].demander, senderSeed);
        _touchJob(job);
        bool expectOk = gJob[job].demander == sender && gJob[job].status == JobStatus.Completed;
        bytes memory call = abi.encodeCall(Model.reportResultFailure, (job, "bad hash"));
        if (!_exec(sender, address(model), call, expectOk)) return;
        gJob[job].status = JobStatus.ResultDisputed;
        _ok();
    }

    // ================================================================== Authorization

    function grant(uint256 recSeed, uint256 jobSeed, uint256 senderSeed, uint256 argSeed) external entry {
        bytes32 job = _job(jobSeed, JobStatus.Approved, JobStatus.Deployed);
        uint256 i = _record(recSeed, gJob[job].dataType, address(0));
        Record memory rec = recs[i];
        address sender = _choose(rec.owner, senderSeed);
        bytes memory pad = argSeed % 8 == 0 ? pads[(argSeed >> 3) % pads.length] : pads[i];
        _grant(sender, i, job, pad, _budgetArg(argSeed >> 6));
    }

    function _grant(address sender, uint256 i, bytes32 job, bytes memory pad, uint32 budget) internal {
        Record memory rec = recs[i];
        bool expectOk = rec.owner == sender && _grantable(rec, job, pad) && _budgetFits(rec.ciphertextHash, budget);
        _consent(1, sender, i, job);
        bytes memory call = abi.encodeCall(Authorization.grant, (rec, job, pad, budget));
        if (!_exec(sender, address(authorization), call, expectOk)) return;
        _granted(rec, job, budget);
        _ok();
    }

    /// A bulk consent listing one record (sometimes a non-user sender, a job not approved, a
    /// count of 0, or a consent already live): registered users only, one live slot per
    /// (owner, job, root).
    function grantBatch(uint256 senderSeed, uint256 jobSeed, uint256 shapeSeed, uint256 budgetSeed) external entry {
        bytes32 job = _job(jobSeed, JobStatus.Approved, JobStatus.Deployed);
        address sender = _choose(patients[(senderSeed >> 2) % patients.length], senderSeed);
        uint256 i = _record(shapeSeed, bytes32(0), sender);
        bytes32 root = _leaf(_commit(recs[i]));
        uint32 count = (shapeSeed >> 200) % 8 == 0 ? 0 : 1;
        bytes32 key = keccak256(abi.encode(sender, job, root));
        JobStatus st = gJob[job].status;
        bool expectOk = gParty[sender].role == Role.User && count > 0
            && (st == JobStatus.Approved || st == JobStatus.Deployed) && !gBatchLive[key];
        bytes memory call = abi.encodeCall(
            Authorization.grantBatch, (job, root, count, _budgetArg(budgetSeed), keccak256("list"))
        );
        if (!_exec(sender, address(authorization), call, expectOk)) return;
        gBatchLive[key] = true;
        batchRefs.push(BatchRef(sender, job, i));
        _checkBatch(sender, job, root, key);
        _ok();
    }

    /// Withdraws a bulk consent as a whole: its owner's only, while live.
    function revokeBatch(uint256 senderSeed, uint256 pick) external entry {
        require(batchRefs.length > 0, "no bulk consents yet");
        BatchRef memory b = batchRefs[pick % batchRefs.length];
        address sender = _choose(b.owner, senderSeed);
        bytes32 root = _leaf(_commit(recs[b.rec]));
        bytes32 key = keccak256(abi.encode(sender, b.job, root));
        bytes memory call = abi.encodeCall(Authorization.revokeBatch, (b.job, root));
        if (!_exec(sender, address(authorization), call, gBatchLive[key])) return;
        gBatchLive[key] = false;
        _checkBatch(sender, b.job, root, key);
        _ok();
    }

    /// Withdraws one record from a bulk consent: the record's owner, a live consent, a Merkle
    /// path to its root (sometimes another record's, which does not lead there), once.
    function revokeFromBatch(uint256 senderSeed, uint256 pick, uint256 shapeSeed) external entry {
        require(batchRefs.length > 0, "no bulk consents yet");
        BatchRef memory b = batchRefs[pick % batchRefs.length];
        address sender = _choose(b.owner, senderSeed);
        Record memory rec = recs[shapeSeed % 4 == 0 ? _record(shapeSeed >> 2, bytes32(0), address(0)) : b.rec];
        bytes32 root = _leaf(_commit(recs[b.rec]));
        bytes32 key = keccak256(abi.encode(sender, b.job, root));
        bytes32 commitment = _commit(rec);
        bytes32 withdrawal = keccak256(abi.encode(key, commitment));
        bool expectOk = rec.owner == sender && gBatchLive[key] && _leaf(commitment) == root
            && !gBatchWithdrawn[withdrawal];
        bytes memory call = abi.encodeCall(Authorization.revokeFromBatch, (rec, b.job, root, new bytes32[](0)));
        if (!_exec(sender, address(authorization), call, expectOk)) return;
        gBatchWithdrawn[withdrawal] = true;
        if (!authorization.isRevokedFromBatch(sender, b.job, root, commitment)) {
            _flag(4, "a record withdrawn from a bulk consent is not shown withdrawn");
        }
        _ok();
    }

    function _leaf(bytes32 commitment) internal pure returns (bytes32) {
        return keccak256(abi.encode(commitment));
    }

    /// The contract shows a bulk consent live exactly when the model does.
    function _checkBatch(address owner, bytes32 job, bytes32 root, bytes32 key) internal {
        (bool live,,) = authorization.batchGrantOf(owner, job, root);
        if (live != gBatchLive[key]) _flag(4, "a bulk consent's state differs from its owner's calls");
    }

    /// A batch grant of 0–3 records (sometimes a wrong sender, pad, job or pad count, a record
    /// named twice, or one of another owner): all or nothing.
    function grantMany(uint256 shapeSeed, uint256 jobSeed, uint256 senderSeed, uint256 budgetSeed) external entry {
        bytes32 job = _job(jobSeed, JobStatus.Approved, JobStatus.Deployed);
        address owner = patients[(senderSeed >> 2) % patients.length];
        address sender = _choose(owner, senderSeed);
        uint256 n = shapeSeed % 4;
        Record[] memory batch = new Record[](n);
        bytes[] memory batchPads = new bytes[]((shapeSeed >> 2) % 8 == 0 ? n + 1 : n);
        uint32 budget = _budgetArg(budgetSeed);
        bool expectOk = n > 0 && batchPads.length == n;
        ctxKind = 1;
        ctxConsenter = sender;
        ctxJob = job;
        delete ctxRecs;
        for (uint256 k = 0; k < n; k++) {
            uint256 i = _record(shapeSeed >> (5 + 8 * k), gJob[job].dataType, owner);
            ctxRecs.push(i);
            _pair(i, job);
            tCts.push(recCt[i]);
            _touch(recs[i].owner);
            batch[k] = recs[i];
            batchPads[k] = (shapeSeed >> (9 + 8 * k)) % 8 == 0 ? pads[(shapeSeed >> (12 + 8 * k)) % pads.length] : pads[i];
            for (uint256 e = 0; e < k; e++) {
                if (batch[e].ciphertextHash == batch[k].ciphertextHash) expectOk = false; // granted by then
            }
            expectOk = expectOk && batch[k].owner == sender && _grantable(batch[k], job, batchPads[k])
                && _budgetFits(batch[k].ciphertextHash, budget);
        }
        if (batchPads.length > n) batchPads[n] = pads[0];
        bytes memory call = abi.encodeCall(Authorization.grantMany, (batch, job, batchPads, budget));
        if (!_exec(sender, address(authorization), call, expectOk)) return;
        for (uint256 k = 0; k < n; k++) _granted(batch[k], job, budget);
        _ok();
    }

    function grantWithSignature(uint256 recSeed, uint256 jobSeed, uint256 relayerSeed, uint256 argSeed) external entry {
        bytes32 job = _job(jobSeed, JobStatus.Approved, JobStatus.Deployed);
        uint256 i = _record(recSeed, gJob[job].dataType, address(0));
        Record memory rec = recs[i];
        address signer = argSeed % 8 == 0 ? _anyActor(argSeed >> 3) : rec.owner;
        uint256 nonce = gNonce[rec.owner];
        uint256 nonceMode = (argSeed >> 8) % 8;
        if (nonceMode == 0 && nonce > 0) nonce -= 1; // a consent already used: a replay
        else if (nonceMode == 1) nonce += 1;
        uint256 deadline = (argSeed >> 11) % 8 == 0 ? block.timestamp - 1 : block.timestamp + 1 hours;
        bytes memory pad = (argSeed >> 14) % 8 == 0 ? pads[(argSeed >> 17) % pads.length] : pads[i];
        uint32 budget = _budgetArg(argSeed >> 20);
        bytes memory signature;
        {
            bytes32 digest = keccak256(
                abi.encodePacked(
                    "\x19\x01",
                    _domain(address(authorization)),
                    keccak256(
                        abi.encode(CONSENT_TYPEHASH, rec.ciphertextHash, job, keccak256(pad), budget, nonce, deadline)
                    )
                )
            );
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[signer], digest);
            signature = abi.encodePacked(r, s, v);
        }
        bool expectOk = block.timestamp <= deadline && signer == rec.owner && nonce == gNonce[rec.owner]
            && _grantable(rec, job, pad) && _budgetFits(rec.ciphertextHash, budget);
        _consent(1, signer, i, job);
        bytes memory call =
            abi.encodeCall(Authorization.grantWithSignature, (rec, job, pad, budget, deadline, signature));
        if (!_exec(_anyActor(relayerSeed), address(authorization), call, expectOk)) return;
        gNonce[rec.owner] += 1;
        _granted(rec, job, budget);
        _ok();
    }

    function revoke(uint256 pairSeed, uint256 jobSeed, uint256 senderSeed) external entry {
        uint256 i;
        bytes32 job;
        if (pairSeed % 4 != 0 && pairs.length > 0) {
            Pair memory p = pairs[(pairSeed >> 2) % pairs.length];
            (i, job) = (p.rec, p.job);
        } else {
            job = _job(jobSeed, JobStatus.Approved, JobStatus.Deployed);
            i = _record(pairSeed >> 2, gJob[job].dataType, address(0));
        }
        Record memory rec = recs[i];
        address sender = _choose(rec.owner, senderSeed);
        bytes32 key = _grantKey(rec, job);
        bool expectOk = rec.owner == sender && gGranted[key];
        _pair(i, job);
        tCts.push(rec.ciphertextHash);
        if (!_exec(sender, address(authorization), abi.encodeCall(Authorization.revoke, (rec, job)), expectOk)) {
            return;
        }
        gGranted[key] = false;
        gRevoked[key] = true;
        _ok();
    }

    function setPolicy(uint256 senderSeed, uint256 dtSeed, bool anyApprovedModel) external entry {
        address sender = _choose(patients[(senderSeed >> 2) % patients.length], senderSeed);
        _setPolicy(sender, dataTypes[dtSeed % 3], anyApprovedModel);
    }

    function _setPolicy(address sender, bytes32 dt, bool anyApprovedModel) internal {
        _touchPairs(0, 0, sender, dt);
        bool expectOk = gParty[sender].role == Role.User;
        bytes memory call = abi.encodeCall(Authorization.setPolicy, (dt, anyApprovedModel));
        if (!_exec(sender, address(authorization), call, expectOk)) return;
        gPolicy[sender][dt] = anyApprovedModel;
        _ok();
    }

    function releasePads(uint256 senderSeed, uint256 shapeSeed, uint256 budgetSeed) external entry {
        address sender = _choose(patients[(senderSeed >> 2) % patients.length], senderSeed);
        uint256 n = shapeSeed % 4;
        Record[] memory batch = new Record[](n);
        bytes[] memory batchPads = new bytes[]((shapeSeed >> 2) % 8 == 0 ? n + 1 : n);
        uint32 budget = _budgetArg(budgetSeed);
        bool expectOk = n > 0 && batchPads.length == n;
        delete ctxRecs;
        for (uint256 k = 0; k < n; k++) {
            uint256 i = _record(shapeSeed >> (5 + 8 * k), bytes32(0), sender);
            ctxRecs.push(i);
            tCts.push(recCt[i]);
            batch[k] = recs[i];
            batchPads[k] = (shapeSeed >> (9 + 8 * k)) % 8 == 0 ? pads[(shapeSeed >> (12 + 8 * k)) % pads.length] : pads[i];
            expectOk = expectOk && batch[k].owner == sender && _live(batch[k]) && _teeActive(batch[k].tee)
                && keccak256(batchPads[k]) == batch[k].padCommitment && _budgetFits(batch[k].ciphertextHash, budget);
        }
        if (batchPads.length > n) batchPads[n] = pads[0];
        ctxKind = 2;
        ctxConsenter = sender;
        bytes memory call = abi.encodeCall(Authorization.releasePads, (batch, batchPads, budget));
        if (!_exec(sender, address(authorization), call, expectOk)) return;
        for (uint256 k = 0; k < n; k++) _setGhostBudget(batch[k].ciphertextHash, budget);
        _ok();
    }

    function setBudget(uint256 recSeed, uint256 senderSeed, uint256 budgetSeed) external entry {
        uint256 i = _record(recSeed, bytes32(0), address(0));
        Record memory rec = recs[i];
        address sender = _choose(rec.owner, senderSeed);
        uint32 budget = _budgetArg(budgetSeed);
        tCts.push(rec.ciphertextHash);
        bool expectOk = rec.owner == sender && _live(rec) && _budgetFits(rec.ciphertextHash, budget);
        if (!_exec(sender, address(authorization), abi.encodeCall(Authorization.setBudget, (rec, budget)), expectOk)) {
            return;
        }
        _setGhostBudget(rec.ciphertextHash, budget);
        _ok();
    }

    /// `debit` is Model's alone: called here by anyone else, it must always refuse. A refusal
    /// is this entry point's success.
    function debit(uint256 senderSeed, uint256 jobSeed, uint256 shapeSeed) external entry {
        address sender = _anyActor(senderSeed);
        bytes32 job = _job(jobSeed, JobStatus.Deployed, JobStatus.Deployed);
        bytes32[] memory hashes = _someCts(1 + shapeSeed % 3, shapeSeed >> 2);
        for (uint256 i = 0; i < hashes.length; i++) tCts.push(hashes[i]);
        bytes memory call = abi.encodeCall(Authorization.debit, (job, uint32(1 + (shapeSeed >> 20) % 5000), hashes, new uint32[](hashes.length)));
        vm.recordLogs();
        vm.prank(sender);
        (bool ok,) = address(authorization).call(call);
        if (ok) {
            _scan(sender, vm.getRecordedLogs());
            _flag(4, "Authorization.debit succeeded for a caller other than Model");
            return;
        }
        _ok();
    }

    // ================================================================== Audit

    function recordUse(uint256 senderSeed, uint256 viewSeed, uint256 shapeSeed) external entry {
        address sender = _tee(senderSeed);
        (uint64 vb, bytes32 vh) = _view(viewSeed);
        uint256 n = shapeSeed % 4;
        AuditEntry[] memory entries = new AuditEntry[](n);
        for (uint256 k = 0; k < n; k++) {
            uint256 s = shapeSeed >> (2 + 16 * k);
            bytes32 job = _job(s, JobStatus.Deployed, JobStatus.Completed);
            Record memory rec = recs.length == 0 ? _noRecord() : recs[(s >> 3) % recs.length];
            entries[k] = AuditEntry({
                jobId: job,
                ciphertextHash: rec.ciphertextHash,
                owner: rec.owner,
                demander: gJob[job].demander,
                requirementHash: keccak256("RM_j"),
                modelHash: keccak256("model_j"),
                modelHashOk: true,
                recordHashOk: (s >> 6) % 4 != 0,
                outcome: UseOutcome((s >> 8) % 6),
                epsilonMilli: gJob[job].eps
            });
        }
        bool expectOk = _teeActive(sender) && _recent(vb, vh) && n > 0;
        if (!_exec(sender, address(audit), abi.encodeCall(Audit.recordUse, (vb, vh, entries)), expectOk)) return;
        _ok();
    }

    // ================================================================== the chain

    /// Mines blocks (and moves time), keeping the view of the block before for later statements
    /// (`_view`): views age, now and then (300 blocks) beyond the 256 the contracts accept.
    function advanceBlocks(uint256 seed) external entry {
        oldViewBlock = uint64(block.number - 1);
        oldViewHash = blockhash(block.number - 1);
        uint256 blocks = seed % 16 == 0 ? 300 : 1 + (seed >> 4) % 20;
        vm.roll(block.number + blocks);
        vm.warp(block.timestamp + 12 * blocks);
        _ok();
    }

    // ================================================================== checks (for the invariants)
    //
    // Each returns "" if its invariant holds, else why not. With `full` false it checks what the
    // last call touched (after every call); with `full` true, everything (after every run).

    /// Invariant 1: a pad is released, or a grant made, only with its owner's consent (the
    /// owner's own grant or release, or its signed Consent), for a live record with that pad, an
    /// active TEE and (for a grant) a job approved by a reviewer and of the record's type; and a
    /// job is authorized to use a record only if its owner granted that version to it or set a
    /// policy for the record's type.
    function checkPadsNeedConsent(bool full) external view returns (string memory) {
        if (padViolations != 0) return firstViolation;
        uint256 n = full ? pairs.length : tPairs.length;
        for (uint256 x = 0; x < n; x++) {
            Pair memory p = pairs[full ? x : tPairs[x]];
            Record memory rec = recs[p.rec];
            bytes32 key = _grantKey(rec, p.job);
            if (authorization.isGranted(_commit(rec), p.job) != gGranted[key]) {
                return "isGranted differs from the grants the owners made";
            }
            if (authorization.isAuthorized(rec, p.job) && !gGranted[key] && !gPolicy[rec.owner][rec.dataType]) {
                return "a job is authorized for a record its owner neither granted nor covered by a policy";
            }
        }
        return "";
    }

    /// Invariant 2: verifications, debits, results and audit entries come only from TEEs that
    /// governance admitted and did not revoke (measurement allowlisted, evidence accepted); every
    /// job past approval was moved on by such a TEE.
    function checkOnlyActiveTeesPost(bool full) external view returns (string memory) {
        if (teeViolations != 0) return firstViolation;
        uint256 n = full ? jobIds.length : tJobs.length;
        for (uint256 x = 0; x < n; x++) {
            bytes32 id = full ? jobIds[x] : tJobs[x];
            if (model.jobStatus(id) >= JobStatus.Deployed) {
                Party memory p = gParty[gJob[id].verifier];
                if (p.role != Role.Tee || !p.admitted) return "a job was deployed by something that is not an admitted TEE";
            }
        }
        return "";
    }

    /// Invariant 3: no record's spent privacy budget exceeds its total (an unlimited budget is
    /// never debited), and budgets are what the owners set and the jobs spent.
    function checkBudgets(bool full) external view returns (string memory) {
        uint256 n = full ? cts.length : tCts.length;
        for (uint256 x = 0; x < n; x++) {
            bytes32 ct = full ? cts[x] : tCts[x];
            (uint32 total, uint32 spent) = authorization.budgetOf(ct);
            if (total != INF && spent > total) return "a record's spent budget exceeds its total";
            if (total == INF && spent != gBudget[ct].spent) return "an unlimited budget was debited";
            if (total != gBudget[ct].total || spent != gBudget[ct].spent) {
                return "a budget differs from what its owner set and jobs spent";
            }
        }
        return "";
    }

    /// Invariant 4: a revoked grant authorizes nothing and releases nothing new: until the owner
    /// grants again, the grant is gone and the job may use the record only under a policy.
    function checkRevokedGrants(bool full) external view returns (string memory) {
        uint256 n = full ? pairs.length : tPairs.length;
        for (uint256 x = 0; x < n; x++) {
            Pair memory p = pairs[full ? x : tPairs[x]];
            Record memory rec = recs[p.rec];
            if (!gRevoked[_grantKey(rec, p.job)]) continue;
            if (authorization.isGranted(_commit(rec), p.job)) return "a revoked grant is still granted";
            JobStatus s = model.jobStatus(p.job);
            bool usable = _live(rec) && (s == JobStatus.Approved || s == JobStatus.Deployed)
                && gJob[p.job].dataType == rec.dataType && gPolicy[rec.owner][rec.dataType];
            if (authorization.isAuthorized(rec, p.job) != usable) return "a revoked grant still authorizes the job";
        }
        return "";
    }

    /// Invariant 5: a job is approved only by an appointed, unremoved reviewer while pending, and
    /// is verified, deployed, debited, completed or disputed only after such an approval.
    function checkJobsNeedApproval(bool full) external view returns (string memory) {
        if (jobViolations != 0) return firstViolation;
        uint256 n = full ? jobIds.length : tJobs.length;
        for (uint256 x = 0; x < n; x++) {
            bytes32 id = full ? jobIds[x] : tJobs[x];
            Job memory j = gJob[id];
            JobStatus s = model.jobStatus(id);
            if (s != j.status) return "a job's status differs from the model's";
            address approver = model.approverOf(id);
            bool pastReview = s != JobStatus.None && s != JobStatus.Pending && s != JobStatus.Rejected;
            if (pastReview && (approver == address(0) || !gParty[approver].everReviewer || !j.approvedByReviewer)) {
                return "a job went past review without a reviewer's approval";
            }
            if (!pastReview && approver != address(0)) return "an unknown, pending or rejected job has an approver";
            if (model.debitBatchesOf(id) != j.batches) return "a job's debit batches differ from the model's";
            if (model.trainingOf(id) != j.training) return "a job's debits pay for another training than its first batch named";
            if (j.batches > 0 && s != JobStatus.Deployed && s != JobStatus.Completed && s != JobStatus.ResultDisputed) {
                return "a job was debited without being deployed";
            }
        }
        return "";
    }

    /// Invariant 6: only governance governs: admins, roles, reviewers, TEE admissions and data
    /// type rules (cohort floors, ε caps) are exactly what admins did, and governance is never
    /// left without an admin.
    function checkGovernance(bool full) external view returns (string memory) {
        if (govViolations != 0) return firstViolation;
        if (registration.adminCount() != adminList.length || adminList.length == 0) return "admin count differs or is zero";
        uint256 n = full ? actors.length : tActors.length;
        for (uint256 x = 0; x < n; x++) {
            address a = full ? actors[x] : tActors[x];
            if (registration.isAdmin(a) != gAdmin[a]) return "an admin differs from governance's";
            Role role = registration.roleOf(a);
            if (role != gParty[a].role) return "a role differs from the registrations";
            if (registration.isReviewer(a) != _isReviewer(a)) return "a reviewer differs from governance's";
            if (registration.isActiveTee(a) != _teeActive(a)) return "an active TEE differs from governance's";
        }
        if (full || tTees) {
            for (uint256 x = 0; x < tees.length; x++) {
                if (registration.isActiveTee(tees[x]) != _teeActive(tees[x])) {
                    return "an active TEE differs from governance's";
                }
            }
        }
        n = full ? dataTypes.length : tDts.length;
        for (uint256 x = 0; x < n; x++) {
            bytes32 dt = full ? dataTypes[x] : tDts[x];
            Rules memory r = gRules[dt];
            (uint32 minCohort, uint32 maxEps, bool np, bytes32 schema) = model.dataTypeRules(dt);
            if (!r.set) r = Rules({set: false, minCohort: 50, maxEps: 0, allowNonPrivate: false, schema: 0});
            if (minCohort != r.minCohort || maxEps != r.maxEps || np != r.allowNonPrivate || schema != r.schema) {
                return "a data type's rules differ from governance's";
            }
        }
        return "";
    }

    /// Invariant 7: every call succeeded exactly when the model said it must; records
    /// (commitments, tombstones: a ciphertext hash is registered once, ever) and consent nonces
    /// are the model's.
    function checkModel(bool full) external view returns (string memory) {
        if (unexpectedOutcomes != 0) return firstViolation;
        uint256 n = full ? cts.length : tCts.length;
        for (uint256 x = 0; x < n; x++) {
            bytes32 ct = full ? cts[x] : tCts[x];
            if (data.commitmentOf(ct) != (gSlot[ct] == 1 ? gOwned[ct] : bytes32(0))) return "a commitment differs";
            if (data.isDeleted(ct) != (gSlot[ct] == 2)) return "a tombstone differs";
        }
        n = full ? actors.length : tActors.length;
        for (uint256 x = 0; x < n; x++) {
            address a = full ? actors[x] : tActors[x];
            if (authorization.nonces(a) != gNonce[a]) return "a consent nonce differs";
        }
        return "";
    }

    function counts() external view returns (uint256 records, uint256 jobs, uint256 grantPairs) {
        return (recs.length, jobIds.length, pairs.length);
    }

    // ================================================================== calling and scanning

    /// Calls `target` as `sender`. Returns true if the call succeeded as the model expected (the
    /// caller then updates the model). An expected refusal reverts with the contract's error; an
    /// unexpected outcome is recorded and returns false.
    function _exec(address sender, address target, bytes memory call, bool expectOk) internal returns (bool) {
        vm.recordLogs();
        vm.prank(sender);
        (bool ok, bytes memory ret) = target.call(call);
        Log[] memory logs = vm.getRecordedLogs();
        if (ok) _scan(sender, logs);
        ctxKind = 0;
        if (ok == expectOk) {
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 32), mload(ret))
                }
            }
            return true;
        }
        _flag(4, ok ? "a call the model refuses succeeded" : "a call the model allows failed");
        return false;
    }

    /// Checks every log of a successful call against the model as it was before the call.
    function _scan(address sender, Log[] memory logs) internal {
        for (uint256 k = 0; k < logs.length; k++) {
            Log memory l = logs[k];
            if (l.topics.length == 0) continue;
            bytes32 t = l.topics[0];
            if (l.emitter == address(authorization)) {
                if (t == Authorization.PadReleased.selector) _checkPad(l);
                else if (t == Authorization.Granted.selector) _checkGranted(l);
            } else if (l.emitter == address(model)) {
                if (t == Model.ModelVerified.selector) {
                    _checkTeePost(sender, address(uint160(uint256(l.topics[2]))));
                    _checkJobRuns(l.topics[1], JobStatus.Approved);
                } else if (t == Model.RecordVerified.selector) {
                    _checkTeePost(sender, address(uint160(uint256(l.topics[3]))));
                    _checkJobRuns(l.topics[1], JobStatus.Deployed);
                } else if (t == Model.BudgetsDebited.selector) {
                    _checkTeePost(sender, sender);
                    _checkJobRuns(l.topics[1], JobStatus.Deployed);
                } else if (t == Model.ResultPosted.selector) {
                    _checkTeePost(sender, address(uint160(uint256(l.topics[2]))));
                    _checkJobRuns(l.topics[1], JobStatus.Deployed);
                } else if (t == Model.ModelApproved.selector) {
                    bytes32 job = l.topics[1];
                    if (!_isReviewer(sender) || address(uint160(uint256(l.topics[2]))) != sender) {
                        _flag(2, "a job was approved by a party that is not an appointed reviewer");
                    } else if (gJob[job].status != JobStatus.Pending) {
                        _flag(2, "a job was approved while not pending");
                    }
                } else if (t == Model.DataTypeRulesSet.selector) {
                    _checkGovernor(sender);
                }
            } else if (l.emitter == address(audit)) {
                if (t == Audit.AuditRecorded.selector) {
                    (,,,,,,, address tee,,) = abi.decode(
                        l.data, (address, bytes32, bytes32, bool, bool, uint8, uint32, address, uint64, uint64)
                    );
                    _checkTeePost(sender, tee);
                }
            } else if (l.emitter == address(registration)) {
                if (
                    t == Registration.AdminAdded.selector || t == Registration.AdminRemoved.selector
                        || t == Registration.ReviewerAppointed.selector || t == Registration.ReviewerRemoved.selector
                        || t == Registration.TeeRevoked.selector || t == Registration.TeeAdmitted.selector
                        || t == Registration.MeasurementAllowed.selector
                        || t == Registration.AcceptSimulatedSet.selector
                        || t == Registration.AcceptUnverifiedHeadersSet.selector
                ) _checkGovernor(sender);
            }
        }
    }

    function _checkPad(Log memory l) internal {
        padsReleased += 1;
        bytes32 ct = l.topics[1];
        bytes memory pad = abi.decode(l.data, (bytes));
        if (ctxKind == 0) return _flag(0, "a pad was released by a call that is not a grant or a release");
        for (uint256 k = 0; k < ctxRecs.length; k++) {
            Record memory rec = recs[ctxRecs[k]];
            if (rec.ciphertextHash != ct) continue;
            if (ctxConsenter != rec.owner) return _flag(0, "a pad was released without its owner's consent");
            if (keccak256(pad) != rec.padCommitment) return _flag(0, "a released pad is not the record's");
            if (!_live(rec)) return _flag(0, "a pad was released for a record that is not live");
            if (!_teeActive(rec.tee)) return _flag(0, "a pad was released for an inactive TEE");
            if (ctxKind == 1) {
                Job memory j = gJob[ctxJob];
                if (j.status != JobStatus.Approved && j.status != JobStatus.Deployed) {
                    return _flag(0, "a pad was granted to a job that is not approved");
                }
                if (!j.approvedByReviewer) return _flag(0, "a pad was granted to a job no reviewer approved");
                if (j.dataType != rec.dataType) return _flag(0, "a pad was granted to a job of another data type");
            }
            return;
        }
        _flag(0, "a pad was released for a record the call did not name");
    }

    function _checkGranted(Log memory l) internal {
        address owner = address(uint160(uint256(l.topics[1])));
        if (ctxKind != 1) return _flag(0, "a grant was made by a call that is not a grant");
        if (l.topics[2] != ctxJob) return _flag(0, "a grant names another job");
        for (uint256 k = 0; k < ctxRecs.length; k++) {
            Record memory rec = recs[ctxRecs[k]];
            if (rec.ciphertextHash != l.topics[3]) continue;
            if (owner != rec.owner || owner != ctxConsenter) return _flag(0, "a grant was made without its owner's consent");
            return;
        }
        _flag(0, "a grant names a record the call did not name");
    }

    function _checkTeePost(address sender, address named) internal {
        if (named != sender) return _flag(1, "a TEE statement names a TEE other than its sender");
        if (!_teeActive(sender)) _flag(1, "a TEE statement came from a party that is not an active TEE");
    }

    function _checkJobRuns(bytes32 job, JobStatus needed) internal {
        Job memory j = gJob[job];
        if (!j.approvedByReviewer) return _flag(2, "a job ran without a reviewer's approval");
        if (j.status != needed) _flag(2, "a job ran from the wrong status");
    }

    function _checkGovernor(address sender) internal {
        if (!gAdmin[sender]) _flag(3, "a governance action by a party that is not an admin");
    }

    function _flag(uint8 kind, string memory why) internal {
        if (kind == 0) padViolations += 1;
        else if (kind == 1) teeViolations += 1;
        else if (kind == 2) jobViolations += 1;
        else if (kind == 3) govViolations += 1;
        else unexpectedOutcomes += 1;
        if (bytes(firstViolation).length == 0) firstViolation = why;
    }

    function _ok() internal {
        okCalls[msg.sig] += 1;
        okTotal += 1;
    }

    // ================================================================== model helpers

    function _teeActive(address a) internal view returns (bool) {
        Party memory p = gParty[a];
        return p.role == Role.Tee && p.active && p.admitted && (p.kind != EvidenceKind.Simulated || gAcceptSim)
            && (!p.unverified || gAcceptUnv) && gMeasAllowed[p.measurement];
    }

    function _isReviewer(address a) internal view returns (bool) {
        return gParty[a].role == Role.Reviewer && gParty[a].active;
    }

    function _live(Record memory rec) internal view returns (bool) {
        bytes32 ct = rec.ciphertextHash;
        return gSlot[ct] == 1 && gOwned[ct] == keccak256(abi.encode(rec.owner, _commit(rec)));
    }

    function _grantable(Record memory rec, bytes32 job, bytes memory pad) internal view returns (bool) {
        Job memory j = gJob[job];
        return _live(rec) && (j.status == JobStatus.Approved || j.status == JobStatus.Deployed)
            && j.dataType == rec.dataType && !gGranted[_grantKey(rec, job)] && _teeActive(rec.tee)
            && keccak256(pad) == rec.padCommitment;
    }

    function _budgetFits(bytes32 ct, uint32 budget) internal view returns (bool) {
        return budget == 0 || budget >= gBudget[ct].spent;
    }

    function _setGhostBudget(bytes32 ct, uint32 budget) internal {
        if (budget != 0) gBudget[ct].total = budget;
    }

    function _granted(Record memory rec, bytes32 job, uint32 budget) internal {
        bytes32 key = _grantKey(rec, job);
        gGranted[key] = true;
        gRevoked[key] = false;
        _setGhostBudget(rec.ciphertextHash, budget);
    }

    function _consent(uint8 kind, address consenter, uint256 rec, bytes32 job) internal {
        ctxKind = kind;
        ctxConsenter = consenter;
        ctxJob = job;
        delete ctxRecs;
        ctxRecs.push(rec);
        _pair(rec, job);
        tCts.push(recCt[rec]);
        _touch(recs[rec].owner);
    }

    function _pair(uint256 rec, bytes32 job) internal {
        bytes32 key = keccak256(abi.encode(rec, job));
        if (pairIndex[key] == 0) {
            pairs.push(Pair({rec: rec, job: job}));
            pairIndex[key] = pairs.length;
        }
        tPairs.push(pairIndex[key] - 1);
    }

    function _touch(address a) internal {
        tActors.push(a);
    }

    function _touchJob(bytes32 job) internal {
        tJobs.push(job);
        _touchPairs(0, job, address(0), 0);
    }

    /// Marks the grant pairs of a record (by ciphertext hash), of a job, or of an owner's data type.
    function _touchPairs(bytes32 ct, bytes32 job, address owner, bytes32 dt) internal {
        for (uint256 k = 0; k < pairs.length; k++) {
            Pair storage p = pairs[k];
            if (
                (ct != 0 && recCt[p.rec] == ct) || (job != 0 && p.job == job)
                    || (owner != address(0) && recs[p.rec].owner == owner && recs[p.rec].dataType == dt)
            ) tPairs.push(k);
        }
    }

    function _commit(Record memory r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                RECORD_TYPEHASH,
                r.owner,
                r.recordId,
                r.dataType,
                r.storageIndex,
                r.ciphertextHash,
                r.timestamp,
                keccak256(r.cm),
                keccak256(r.rUg),
                r.padCommitment,
                r.tee
            )
        );
    }

    function _grantKey(Record memory rec, bytes32 job) internal pure returns (bytes32) {
        return keccak256(abi.encode(_commit(rec), job));
    }

    function _domain(address verifyingContract) internal view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("medshare"), keccak256("1"), block.chainid, verifyingContract)
        );
    }

    function _recent(uint64 vb, bytes32 vh) internal view returns (bool) {
        return vb < block.number && block.number - vb <= 256 && vh != 0 && vh == blockhash(vb);
    }

    function _owns(address a, bytes memory key) internal pure returns (bool) {
        return key.length == 64 && address(uint160(uint256(keccak256(key)))) == a;
    }

    // ================================================================== choosing arguments

    /// `right` three times in four, anyone the other time.
    function _choose(address right, uint256 seed) internal view returns (address) {
        return seed % 4 == 0 ? _anyActor(seed >> 2) : right;
    }

    function _anyActor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _governor(uint256 seed) internal view returns (address) {
        return _choose(_admin(seed >> 8), seed);
    }

    function _admin(uint256 seed) internal view returns (address) {
        return adminList[seed % adminList.length];
    }

    function _setAdmin(address a, bool admin) internal {
        gAdmin[a] = admin;
        if (admin) {
            adminList.push(a);
            adminPos[a] = adminList.length;
        } else {
            uint256 i = adminPos[a] - 1;
            address last = adminList[adminList.length - 1];
            adminList[i] = last;
            adminPos[last] = i + 1;
            adminList.pop();
            adminPos[a] = 0;
        }
    }

    // Choosing among accounts, jobs, records by probing a few random candidates (not scanning
    // whole lists: forge runs every opcode through its inspectors, and a run makes 100 calls).

    function _unregistered(uint256 seed) internal view returns (address) {
        for (uint256 t = 0; t < 16; t++) {
            address a = actors[(seed >> (8 * t)) % actors.length];
            if (gParty[a].role == Role.None) return a;
        }
        return _anyActor(seed);
    }

    /// An active reviewer usually; one of the reviewer accounts (maybe removed or never
    /// appointed) or anyone otherwise.
    function _reviewer(uint256 seed) internal view returns (address) {
        if (seed % 4 == 0) return _anyActor(seed >> 2);
        if (seed % 4 == 1) return reviewers[(seed >> 2) % reviewers.length];
        for (uint256 t = 0; t < 12; t++) {
            address r = reviewers[(seed >> (2 + 8 * t)) % reviewers.length];
            if (_isReviewer(r)) return r;
        }
        return reviewers[(seed >> 2) % reviewers.length];
    }

    /// An active TEE usually; one of the TEE accounts (maybe never submitted, not admitted or
    /// revoked) or anyone otherwise.
    function _tee(uint256 seed) internal view returns (address) {
        if (seed % 4 == 0) return _anyActor(seed >> 2);
        if (seed % 4 == 1) return tees[(seed >> 2) % tees.length];
        return _activeTeeOr(seed >> 2);
    }

    function _activeTeeOr(uint256 seed) internal view returns (address) {
        for (uint256 t = 0; t < 16; t++) {
            address a = tees[(seed >> (8 * t)) % tees.length];
            if (_teeActive(a)) return a;
        }
        return tees[seed % tees.length];
    }

    /// A job in status `a` or `b` usually; any job or an unknown id otherwise.
    function _job(uint256 seed, JobStatus a, JobStatus b) internal view returns (bytes32) {
        uint256 mode = seed % 8;
        if (jobIds.length == 0 || mode == 0) return keccak256(abi.encode("unknown job", seed % 3));
        if (mode == 1) return jobIds[(seed >> 3) % jobIds.length];
        for (uint256 t = 0; t < 24; t++) {
            bytes32 id = jobIds[(seed >> (3 + 10 * t)) % jobIds.length];
            JobStatus s = gJob[id].status;
            if (s == a || s == b) return id;
        }
        return jobIds[(seed >> 3) % jobIds.length];
    }

    /// Index of a live record (of data type `dt` and owner `owner` where not zero) three times
    /// in four; any record otherwise. Reverts if there is none yet.
    function _record(uint256 seed, bytes32 dt, address owner) internal view returns (uint256) {
        require(recs.length > 0, "no records yet");
        if (seed % 4 == 0) return (seed >> 2) % recs.length;
        for (uint256 t = 0; t < 24; t++) {
            uint256 i = (seed >> (2 + 10 * t)) % recs.length;
            if (_fits(i, dt, owner)) return i;
        }
        return (seed >> 2) % recs.length;
    }

    function _fits(uint256 i, bytes32 dt, address owner) internal view returns (bool) {
        bytes32 ct = recCt[i];
        if (gSlot[ct] != 1 || gOwned[ct] != recKey[i]) return false; // not live
        if (dt != 0 && recs[i].dataType != dt) return false;
        return owner == address(0) || recs[i].owner == owner;
    }

    function _pushRecord(Record memory rec, bytes memory pad) internal {
        recs.push(rec);
        pads.push(pad);
        recCt.push(rec.ciphertextHash);
        recKey.push(keccak256(abi.encode(rec.owner, _commit(rec))));
    }

    function _someCts(uint256 n, uint256 seed) internal view returns (bytes32[] memory hashes) {
        hashes = new bytes32[](n);
        for (uint256 k = 0; k < n; k++) {
            uint256 s = seed >> (6 * k);
            hashes[k] = cts.length == 0 || s % 8 == 0 ? keccak256(abi.encode("unknown ct", s % 5)) : cts[(s >> 3) % cts.length];
        }
    }

    /// Ciphertext hashes whose budgets can each pay `eps` once, where some are found (some hash
    /// may repeat, and then perhaps not pay twice).
    function _payingCts(uint256 n, uint256 seed, uint32 eps) internal view returns (bytes32[] memory hashes) {
        hashes = _someCts(n, seed);
        for (uint256 i = 0; i < n && cts.length > 0; i++) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            for (uint256 t = 0; t < 16; t++) {
                bytes32 ct = cts[(s >> (16 * t)) % cts.length];
                if (_pays(ct, eps)) {
                    hashes[i] = ct;
                    break;
                }
            }
        }
    }

    function _pays(bytes32 ct, uint32 eps) internal view returns (bool) {
        Budget memory b = gBudget[ct];
        return b.total == INF || (eps != INF && uint256(b.spent) + eps <= b.total);
    }

    function _budgetArg(uint256 seed) internal pure returns (uint32) {
        uint32[8] memory budgets = [uint32(0), 100, 1000, 2000, 3000, 5000, 10000, INF];
        return budgets[seed % 8];
    }

    /// A view of the chain: a recent block and its hash usually; a block too old, a wrong hash,
    /// the current block (whose hash nobody knows yet) or a view kept from earlier (recent or
    /// stale by now) otherwise.
    function _view(uint256 seed) internal view returns (uint64 vb, bytes32 vh) {
        uint256 mode = seed % 16;
        if (mode == 3 && oldViewBlock != 0) return (oldViewBlock, oldViewHash);
        if (mode == 0) {
            vb = uint64(block.number - 257 - (seed >> 4) % 50);
            vh = keccak256(abi.encode(vb));
        } else if (mode == 1) {
            vb = uint64(block.number - 1);
            vh = blockhash(vb) ^ bytes32(uint256(1));
        } else if (mode == 2) {
            vb = uint64(block.number);
            vh = keccak256(abi.encode(vb));
        } else {
            vb = uint64(block.number - 1 - (seed >> 4) % 256);
            vh = blockhash(vb);
        }
    }

    function _newRecord(address owner, bytes32 dt, uint256 seed) internal returns (Record memory r, bytes memory pad) {
        uint256 n = ++nextCt;
        pad = abi.encodePacked(bytes1(0x02), keccak256(abi.encode("pad", n)));
        r = Record({
            owner: owner,
            recordId: keccak256(abi.encode("record id", n)),
            dataType: dt,
            storageIndex: keccak256(abi.encode("storage index", n)),
            ciphertextHash: keccak256(abi.encode("ciphertext", n)),
            timestamp: uint64(block.timestamp),
            cm: abi.encodePacked(bytes1(0x03), keccak256(abi.encode("CM_i", n))),
            rUg: abi.encodePacked(bytes1(0x02), keccak256(abi.encode("r_U g", n))),
            padCommitment: keccak256(pad),
            tee: seed % 4 == 0 ? _anyActor(seed >> 2) : _activeTeeOr(seed >> 2)
        });
    }

    function _noRecord() internal pure returns (Record memory r) {}

    function _wallet(string memory name) internal returns (address) {
        Wallet memory w = vm.createWallet(name);
        actors.push(w.addr);
        keyOf[w.addr] = w.privateKey;
        pubOf[w.addr] = abi.encodePacked(w.publicKeyX, w.publicKeyY);
        return w.addr;
    }

    function _digit(uint256 i) internal pure returns (string memory) {
        return string(abi.encodePacked(bytes1(uint8(48 + i))));
    }
}
