// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Memory} from "@openzeppelin/contracts/utils/Memory.sol";
import {
    JobStatus, Role, MedshareHashing, isRecentBlock, IPrivacyBudgets, EPSILON_INFINITE
} from "./MedshareTypes.sol";
import {Registration} from "./Registration.sol";

/// @title Model — models, their review, deployment and training results (paper §5.1(3)(d),
/// §5.3, §5.4.1, §5.5)
/// @notice A demander submits a model and its data requirement (IM_j); the job id is
/// hashStruct(ModelSubmission). A reviewer approves or rejects it. An active TEE then posts its
/// model verification {ST_j, HRT_j, VT_j}, record verifications {ST_i, HRT_i, VT_i}, and the
/// hash HCMRT_j of the encrypted training result (CMRT_j and its signature SMRT_j are stored
/// off chain under that hash). The demander may report a result that
/// fails its checks (§5.5.3(b)).
/// Every TEE statement names the block its enclave's view of the chain came from (`viewBlock`,
/// `viewHash`: the block whose state the enclave verified by proofs — the job approved, its
/// reviewer appointed, the TEE itself admitted, each record consented) and is accepted only while
/// that block is among the 256 most recent (`StaleView` otherwise).
/// Output privacy: governance sets each data type's rules (`setDataTypeRules`) — the smallest
/// cohort a job may train on (50 when unset), whether a model may be trained without
/// differential privacy (not when unset), the largest ε, and the hash of the data type's schema
/// (its public feature ranges). A submission names its cohort and ε (both bound into the job
/// id), and is refused if it asks for less than the floor or for more than the rules allow. The
/// result is posted only after every record the job used has paid the job's ε from its privacy
/// budget (`debitBudgets`, in Authorization), batch by batch.
/// @dev Bulky fields (model, requirement, signatures) live only in events;
/// a job keeps one storage slot {demander, status, data type id}, and its approval one more
/// {reviewer} (the enclave checks the approving reviewer is still appointed). The hashes and
/// signatures (H1(model_j) == Hmodel_j, SM_j, the TEE's signatures) are checked off chain by
/// the TEE and the demander, as in the paper; on chain the sender of each transaction is
/// authenticated by Registration.
contract Model is EIP712 {
    /// One storage slot per job.
    struct Job {
        address demander;
        JobStatus status;
        /// Interned id of the job's data type (see `_dataTypeIds`).
        uint32 dataTypeId;
        /// The job's ε in thousandths (`EPSILON_INFINITE`: no differential privacy).
        uint32 epsilonMilli;
    }

    /// A data type's rules, set by governance (one storage slot).
    struct DataTypeRules {
        /// The smallest cohort a job of this type may train on.
        uint32 minCohort;
        /// The largest ε (thousandths) a job may ask for; 0: no cap below ∞.
        uint32 maxEpsilonMilli;
        /// Whether a job may train without differential privacy.
        bool allowNonPrivate;
        /// Whether governance set the rules (else the defaults apply).
        bool set;
    }

    /// The cohort floor of a data type whose rules governance did not set.
    uint32 public constant DEFAULT_MIN_COHORT = 50;

    /// keccak256 of the EIP-712 ModelSubmission type string.
    bytes32 public constant MODEL_SUBMISSION_TYPEHASH = MedshareHashing.MODEL_SUBMISSION_TYPEHASH;
    /// keccak256 of the EIP-712 Verification type string (the TEE's ST_j / ST_i).
    bytes32 public constant VERIFICATION_TYPEHASH = MedshareHashing.VERIFICATION_TYPEHASH;
    /// keccak256 of the EIP-712 TrainingResult type string (the TEE's SMRT_j).
    bytes32 public constant TRAINING_RESULT_TYPEHASH = MedshareHashing.TRAINING_RESULT_TYPEHASH;

    /// The Registration contract consulted for roles.
    Registration public immutable registration;
    /// The Authorization contract that keeps records' privacy budgets.
    IPrivacyBudgets public immutable authorization;

    mapping(bytes32 jobId => Job) private _jobs;
    // Data types are interned to small ids so that a job fits one storage slot: the first job
    // of a data type pays for two more slots, every later one saves a slot (~20,000 gas).
    mapping(bytes32 dataType => uint32 id) private _dataTypeIds;
    mapping(uint32 id => bytes32 dataType) private _dataTypes;
    uint32 private _dataTypeCount;
    /// The reviewer who approved each job.
    mapping(bytes32 jobId => address reviewer) private _approvers;
    /// Each data type's rules.
    mapping(bytes32 dataType => DataTypeRules) private _rules;
    /// Each data type's schema hash (keccak256 of its JSON); zero: only a built-in schema.
    mapping(bytes32 dataType => bytes32 schemaHash) private _schemaHashes;
    /// How many budget-debit batches each job has posted.
    mapping(bytes32 jobId => uint32 batches) private _debitBatches;
    /// The training each job's debits pay for (an id the TEE chose when it trained): fixed by
    /// the first batch, so only the one trained model whose debits landed can be released.
    mapping(bytes32 jobId => bytes32 trainingId) private _trainings;

    /// The caller is not a registered demander.
    error NotDemander(address caller);
    /// The caller is not an active reviewer.
    error NotReviewer(address caller);
    /// The caller is not an active TEE.
    error NotActiveTee(address caller);
    /// The caller is not the job's demander.
    error NotJobDemander(address caller, bytes32 jobId);
    /// A job with this id exists already.
    error JobExists(bytes32 jobId);
    /// The job is not in the status this call needs (`None` means unknown job).
    error WrongJobStatus(bytes32 jobId, JobStatus status);
    /// Batch arrays differ in length or are empty.
    error BadBatch(uint256 length);
    /// The caller is not an admin of Registration.
    error NotAdmin(address caller);
    /// The submission's cohort is below the data type's floor.
    error CohortBelowFloor(bytes32 dataType, uint32 minCohort, uint32 floor);
    /// The data type's rules do not allow training without differential privacy.
    error NonPrivateNotAllowed(bytes32 dataType);
    /// The submission asks for more ε than the data type's rules allow.
    error EpsilonAboveCap(bytes32 dataType, uint32 epsilonMilli, uint32 maxEpsilonMilli);
    /// ε must be positive.
    error ZeroEpsilon();
    /// A cohort floor must be at least 2.
    error BadRules(uint32 minCohort);
    /// A debit batch arrived out of order (or twice).
    error WrongDebitBatch(bytes32 jobId, uint32 expected, uint32 got);
    /// A debit batch names another training than the job's first batch did (or none).
    error WrongTraining(bytes32 jobId, bytes32 expected, bytes32 got);
    /// The block the TEE's view came from is not among the 256 most recent blocks (or its hash
    /// is not that block's).
    error StaleView(uint64 viewBlock, bytes32 viewHash);

    /// IM_j: a model and its data requirement RM_j were submitted (job status Pending).
    event ModelSubmitted(
        bytes32 indexed jobId,
        address indexed demander,
        bytes32 indexed dataType,
        bytes32 modelHash,
        bytes32 requirementHash,
        uint64 timestamp,
        uint32 minCohort,
        uint32 epsilonMilli,
        bytes model,
        bytes requirement,
        bytes signature
    );
    /// A reviewer approved the job.
    event ModelApproved(bytes32 indexed jobId, address indexed reviewer);
    /// A reviewer rejected the job.
    event ModelRejected(bytes32 indexed jobId, address indexed reviewer, string reason);
    /// {ST_j, HRT_j, VT_j}: a TEE verified the model, with its view of the chain from block
    /// `viewBlock`. Both checks true deploys the job.
    event ModelVerified(
        bytes32 indexed jobId,
        address indexed tee,
        bool hashOk,
        bool signatureOk,
        uint64 viewBlock,
        bytes32 viewHash,
        bytes teeSignature
    );
    /// {ST_i, HRT_i, VT_i}: a TEE verified one record for the job.
    event RecordVerified(
        bytes32 indexed jobId,
        bytes32 indexed ciphertextHash,
        address indexed tee,
        bool hashOk,
        bool signatureOk,
        uint64 viewBlock,
        bytes teeSignature
    );
    /// HCMRT_j: the hash of the encrypted training result CMRT_j, which the TEE put in off-chain
    /// storage under that hash together with its EIP-712 signature SMRT_j (job Completed).
    event ResultPosted(bytes32 indexed jobId, address indexed tee, bytes32 resultHash, uint64 viewBlock, bytes32 viewHash);
    /// The demander reported that the result failed its checks.
    event ResultFailureReported(bytes32 indexed jobId, address indexed demander, string reason);
    /// Governance set a data type's rules.
    event DataTypeRulesSet(
        bytes32 indexed dataType,
        uint32 minCohort,
        uint32 maxEpsilonMilli,
        bool allowNonPrivate,
        bytes32 schemaHash,
        address indexed by
    );
    /// A TEE debited the privacy budgets of a batch of records a job used.
    event BudgetsDebited(bytes32 indexed jobId, uint32 batch, uint256 records, uint32 epsilonMilli);

    /// `authorization_` is the Authorization contract's address, deployed after this one (its
    /// address is known in advance: the deployer's next contract creation).
    constructor(Registration registration_, IPrivacyBudgets authorization_) EIP712("medshare", "1") {
        registration = registration_;
        authorization = authorization_;
    }

    /// Sets a data type's rules. Admins of Registration only.
    function setDataTypeRules(
        bytes32 dataType,
        uint32 minCohort,
        uint32 maxEpsilonMilli,
        bool allowNonPrivate,
        bytes32 schemaHash
    ) external {
        if (!registration.isAdmin(msg.sender)) revert NotAdmin(msg.sender);
        if (minCohort < 2) revert BadRules(minCohort);
        _rules[dataType] = DataTypeRules({
            minCohort: minCohort,
            maxEpsilonMilli: maxEpsilonMilli,
            allowNonPrivate: allowNonPrivate,
            set: true
        });
        _schemaHashes[dataType] = schemaHash;
        emit DataTypeRulesSet(dataType, minCohort, maxEpsilonMilli, allowNonPrivate, schemaHash, msg.sender);
    }

    modifier onlyReviewer() {
        if (!registration.isReviewer(msg.sender)) revert NotReviewer(msg.sender);
        _;
    }

    modifier onlyActiveTee() {
        if (!registration.isActiveTee(msg.sender)) revert NotActiveTee(msg.sender);
        _;
    }

    /// Submits a model (IM_j). Registered demanders only. `modelHash` = H1(model),
    /// `requirementHash` = H1(requirement), `signature` = SM_j (EIP-712 ModelSubmission signed
    /// by the demander); none is checked here (the TEE does, as HRT_j and VT_j). `minCohort` and
    /// `epsilonMilli` are the requirement's minimum cohort and the model spec's ε (the TEE checks
    /// they are), refused here if below the data type's floor or beyond its rules. Returns the
    /// job id, hashStruct(ModelSubmission{demander: msg.sender, ...}).
    function submitModel(
        bytes32 modelHash,
        bytes32 requirementHash,
        bytes32 dataType,
        uint64 timestamp,
        uint32 minCohort,
        uint32 epsilonMilli,
        bytes calldata model,
        bytes calldata requirement,
        bytes calldata signature
    ) external returns (bytes32 jobId) {
        if (registration.roleOf(msg.sender) != Role.Demander) revert NotDemander(msg.sender);
        _checkRules(dataType, minCohort, epsilonMilli);
        jobId = MedshareHashing.hashModelSubmission(
            msg.sender, modelHash, requirementHash, dataType, timestamp, minCohort, epsilonMilli
        );
        if (_jobs[jobId].status != JobStatus.None) revert JobExists(jobId);
        _jobs[jobId] = Job({
            demander: msg.sender,
            status: JobStatus.Pending,
            dataTypeId: _internDataType(dataType),
            epsilonMilli: epsilonMilli
        });
        emit ModelSubmitted(
            jobId,
            msg.sender,
            dataType,
            modelHash,
            requirementHash,
            timestamp,
            minCohort,
            epsilonMilli,
            model,
            requirement,
            signature
        );
    }

    /// Approves a pending job. Active reviewers only. The approving reviewer is kept: the
    /// enclave runs the job only while that reviewer is still appointed.
    function approveModel(bytes32 jobId) external onlyReviewer {
        _transition(jobId, JobStatus.Pending, JobStatus.Approved);
        _approvers[jobId] = msg.sender;
        emit ModelApproved(jobId, msg.sender);
    }

    /// Rejects a pending job. Active reviewers only.
    function rejectModel(bytes32 jobId, string calldata reason) external onlyReviewer {
        _transition(jobId, JobStatus.Pending, JobStatus.Rejected);
        emit ModelRejected(jobId, msg.sender, reason);
    }

    /// Posts the TEE's model verification of an approved job: Deployed if both checks pass,
    /// ModelInvalid otherwise. Active TEEs only; the view's block must be recent.
    function postModelVerification(
        bytes32 jobId,
        bool hashOk,
        bool signatureOk,
        uint64 viewBlock,
        bytes32 viewHash,
        bytes calldata teeSignature
    ) external onlyActiveTee {
        _requireRecent(viewBlock, viewHash);
        JobStatus next = hashOk && signatureOk ? JobStatus.Deployed : JobStatus.ModelInvalid;
        _transition(jobId, JobStatus.Approved, next);
        emit ModelVerified(jobId, msg.sender, hashOk, signatureOk, viewBlock, viewHash, teeSignature);
    }

    /// Posts the TEE's verification of records for a deployed job (no state kept; events only).
    /// Active TEEs only; the view's block must be recent.
    function postRecordVerifications(
        bytes32 jobId,
        uint64 viewBlock,
        bytes32 viewHash,
        bytes32[] calldata ciphertextHashes,
        bool[] calldata hashOk,
        bool[] calldata signatureOk,
        bytes[] calldata teeSignatures
    ) external onlyActiveTee {
        uint256 n = ciphertextHashes.length;
        if (n == 0 || hashOk.length != n || signatureOk.length != n || teeSignatures.length != n) revert BadBatch(n);
        _requireRecent(viewBlock, viewHash);
        JobStatus s = _jobs[jobId].status;
        if (s != JobStatus.Deployed) revert WrongJobStatus(jobId, s);
        // Free each iteration's scratch memory (event encoding, hashing): memory cost grows
        // quadratically, so a batch of n items would otherwise pay O(n^2). Nothing allocated
        // inside an iteration is used after it.
        Memory.Pointer fmp = Memory.getFreeMemoryPointer();
        for (uint256 i = 0; i < n; ++i) {
            emit RecordVerified(
                jobId, ciphertextHashes[i], msg.sender, hashOk[i], signatureOk[i], viewBlock, teeSignatures[i]
            );
            Memory.unsafeSetFreeMemoryPointer(fmp);
        }
    }

    /// Debits the job's ε from the privacy budget of each record in `ciphertextHashes` (records
    /// the job trained on), as batch number `batch` of the job (batches land once, in order)
    /// for training `trainingId` (the first batch fixes it; every later one must name it);
    /// `grantedTotals[i]` is the budget a record without one of its own takes from the bulk
    /// consent the enclave verified it under (0: none). Active TEEs only; job Deployed; the
    /// view's block must be recent. Reverts if any record's budget cannot pay.
    function debitBudgets(
        bytes32 jobId,
        uint32 batch,
        bytes32 trainingId,
        uint64 viewBlock,
        bytes32 viewHash,
        bytes32[] calldata ciphertextHashes,
        uint32[] calldata grantedTotals
    ) external onlyActiveTee {
        _requireRecent(viewBlock, viewHash);
        if (ciphertextHashes.length == 0) revert BadBatch(0);
        Job storage job = _jobs[jobId];
        JobStatus s = job.status;
        if (s != JobStatus.Deployed) revert WrongJobStatus(jobId, s);
        uint32 expected = _debitBatches[jobId];
        if (batch != expected) revert WrongDebitBatch(jobId, expected, batch);
        if (expected == 0) {
            if (trainingId == bytes32(0)) revert WrongTraining(jobId, bytes32(0), trainingId);
            _trainings[jobId] = trainingId;
        } else {
            bytes32 first = _trainings[jobId];
            if (trainingId != first) revert WrongTraining(jobId, first, trainingId);
        }
        _debitBatches[jobId] = expected + 1;
        uint32 epsilonMilli = job.epsilonMilli;
        authorization.debit(jobId, epsilonMilli, ciphertextHashes, grantedTotals);
        emit BudgetsDebited(jobId, batch, ciphertextHashes.length, epsilonMilli);
    }

    /// Posts the training result of a deployed job, once: `resultHash` = HCMRT_j = H1(CMRT_j),
    /// the encrypted result the TEE put in off-chain storage with its signature SMRT_j (EIP-712
    /// TrainingResult over the job, this hash and the view). `debitBatches` is how many budget
    /// batches the job posted; the result is refused unless exactly those landed. The
    /// transaction itself is signed by the TEE's account, so the chain needs no second
    /// signature. Active TEEs only; the view's block must be recent.
    function postResult(
        bytes32 jobId,
        bytes32 resultHash,
        uint64 viewBlock,
        bytes32 viewHash,
        uint32 debitBatches
    ) external onlyActiveTee {
        _requireRecent(viewBlock, viewHash);
        uint32 landed = _debitBatches[jobId];
        if (landed != debitBatches) revert WrongDebitBatch(jobId, debitBatches, landed);
        _transition(jobId, JobStatus.Deployed, JobStatus.Completed);
        emit ResultPosted(jobId, msg.sender, resultHash, viewBlock, viewHash);
    }

    /// Reports that the posted result failed the demander's checks (hash or signature).
    /// The job's demander only, once, after the result was posted.
    function reportResultFailure(bytes32 jobId, string calldata reason) external {
        Job storage job = _jobs[jobId];
        if (job.demander != msg.sender) revert NotJobDemander(msg.sender, jobId);
        _transition(jobId, JobStatus.Completed, JobStatus.ResultDisputed);
        emit ResultFailureReported(jobId, msg.sender, reason);
    }

    // ---------------------------------------------------------------- views

    /// The job's status (`None` for an unknown job).
    function jobStatus(bytes32 jobId) external view returns (JobStatus) {
        return _jobs[jobId].status;
    }

    /// The data type the job asks for (zero for an unknown job).
    function jobDataType(bytes32 jobId) external view returns (bytes32) {
        return _dataTypes[_jobs[jobId].dataTypeId];
    }

    /// The job's demander (zero for an unknown job).
    function demanderOf(bytes32 jobId) external view returns (address) {
        return _jobs[jobId].demander;
    }

    /// True while records may be authorized for the job: approved by a reviewer and not
    /// finished or failed (status Approved or Deployed).
    function isApproved(bytes32 jobId) public view returns (bool) {
        JobStatus s = _jobs[jobId].status;
        return s == JobStatus.Approved || s == JobStatus.Deployed;
    }

    /// A data type's rules, the defaults if governance set none: (minCohort, maxEpsilonMilli
    /// (0: no cap), allowNonPrivate, schemaHash (zero: built-in schemas only)).
    function dataTypeRules(bytes32 dataType)
        public
        view
        returns (uint32 minCohort, uint32 maxEpsilonMilli, bool allowNonPrivate, bytes32 schemaHash)
    {
        DataTypeRules memory r = _rules[dataType];
        if (!r.set) return (DEFAULT_MIN_COHORT, 0, false, bytes32(0));
        return (r.minCohort, r.maxEpsilonMilli, r.allowNonPrivate, _schemaHashes[dataType]);
    }

    /// The job's ε in thousandths (`EPSILON_INFINITE` without differential privacy).
    function epsilonOf(bytes32 jobId) external view returns (uint32) {
        return _jobs[jobId].epsilonMilli;
    }

    /// How many budget-debit batches the job posted.
    function debitBatchesOf(bytes32 jobId) external view returns (uint32) {
        return _debitBatches[jobId];
    }

    /// The training the job's budget debits pay for (zero before its first batch).
    function trainingOf(bytes32 jobId) external view returns (bytes32) {
        return _trainings[jobId];
    }

    /// The reviewer who approved the job (zero if it was not approved).
    function approverOf(bytes32 jobId) external view returns (address) {
        return _approvers[jobId];
    }

    /// Status, demander and data type in one call.
    function jobInfo(bytes32 jobId) external view returns (JobStatus status, address demander, bytes32 dataType) {
        Job memory job = _jobs[jobId];
        return (job.status, job.demander, _dataTypes[job.dataTypeId]);
    }

    /// The job id for a submission: hashStruct(ModelSubmission).
    function hashModelSubmission(
        address demander,
        bytes32 modelHash,
        bytes32 requirementHash,
        bytes32 dataType,
        uint64 timestamp,
        uint32 minCohort,
        uint32 epsilonMilli
    ) external pure returns (bytes32) {
        return MedshareHashing.hashModelSubmission(
            demander, modelHash, requirementHash, dataType, timestamp, minCohort, epsilonMilli
        );
    }

    /// This contract's EIP-712 domain separator (for SM_j, ST_j, ST_i and SMRT_j; follows
    /// block.chainid).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _internDataType(bytes32 dataType) private returns (uint32 id) {
        id = _dataTypeIds[dataType];
        if (id == 0) {
            id = ++_dataTypeCount;
            _dataTypeIds[dataType] = id;
            _dataTypes[id] = dataType;
        }
    }

    function _checkRules(bytes32 dataType, uint32 minCohort, uint32 epsilonMilli) private view {
        if (epsilonMilli == 0) revert ZeroEpsilon();
        // One slot read: the schema hash is the enclave's business, not the submission's.
        DataTypeRules memory r = _rules[dataType];
        uint32 floor = r.set ? r.minCohort : DEFAULT_MIN_COHORT;
        if (minCohort < floor) revert CohortBelowFloor(dataType, minCohort, floor);
        if (epsilonMilli == EPSILON_INFINITE) {
            if (!r.allowNonPrivate) revert NonPrivateNotAllowed(dataType);
        } else if (r.maxEpsilonMilli != 0 && epsilonMilli > r.maxEpsilonMilli) {
            revert EpsilonAboveCap(dataType, epsilonMilli, r.maxEpsilonMilli);
        }
    }

    function _requireRecent(uint64 viewBlock, bytes32 viewHash) private view {
        if (!isRecentBlock(viewBlock, viewHash)) revert StaleView(viewBlock, viewHash);
    }

    function _transition(bytes32 jobId, JobStatus from, JobStatus to) private {
        Job storage job = _jobs[jobId];
        JobStatus s = job.status;
        if (s != from) revert WrongJobStatus(jobId, s);
        job.status = to;
    }
}
