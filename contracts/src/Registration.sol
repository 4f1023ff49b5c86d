// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Role, EvidenceKind} from "./MedshareTypes.sol";

/// @title Registration — who is who (paper §5.1(3)(a))
/// @notice Pseudonymous registry of parties: an address, its role and its 64-byte uncompressed
/// secp256k1 public key (no names). Users and demanders register themselves; reviewers are
/// appointed by governance (otherwise a demander could approve its own model).
/// A TEE is never self-declared: it *submits* PK_T with its attestation evidence
/// (`submitTee`, the evidence published in `TeeSubmitted`), and becomes active only once
/// governance *admits* it (`admitTee`) after verifying that evidence off chain (an SGX/TDX quote's
/// signature chain, TCB status and collateral; its report data binding PK_T, the chain id, this
/// contract and the enclave's trust anchors). Governance passes the measurement it read from the
/// verified evidence; the TEE stays active while that measurement is allowlisted, simulated
/// evidence is accepted (if its evidence is simulated), headers without signatures are accepted
/// (if its view of the chain is not anchored in signed headers), and it is not revoked.
/// Governance is a set of admins: the deployer first; admins add and remove admins, never the
/// last one.
contract Registration {
    /// One storage slot per party (the enclave reads it through a state proof: the layout is
    /// part of the protocol, see crates/contracts/src/layout.rs).
    struct Party {
        Role role;
        /// Cleared when governance removes a reviewer or revokes a TEE.
        bool active;
        /// TEE only: governance verified its evidence and admitted it.
        bool admitted;
        /// TEE only: what produced its evidence (set at admission).
        EvidenceKind evidenceKind;
        /// TEE only: its enclave checks chain facts against headers nobody signed (e.g. anvil).
        bool unverifiedHeaders;
        /// TEE only: interned id of its enclave measurement (see `_measurementIds`), set at
        /// admission from the verified evidence.
        uint32 measurementId;
    }

    /// 64-byte public key as two words.
    struct PublicKey {
        bytes32 x;
        bytes32 y;
    }

    mapping(address => Party) private _parties;
    mapping(address => PublicKey) private _publicKeys;
    // Measurements are interned to small ids so that a TEE's party slot carries its
    // measurement: `isActiveTee` (called by every TEE transaction) then reads two storage
    // slots (three for simulated TEEs) instead of four. Id 0 means "none" and is never allowed.
    mapping(bytes32 measurement => uint32 id) private _measurementIds;
    mapping(uint32 id => bytes32 measurement) private _measurements;
    mapping(uint32 id => bool) private _measurementAllowed;
    mapping(address => bool) private _admins;
    // One slot: read together by isActiveTee (simulated or unverified-header TEEs) and governance.
    uint64 private _adminCount;
    bool private _acceptSimulated;
    bool private _acceptUnverifiedHeaders;
    uint32 private _measurementCount;
    /// keccak256 of the evidence each TEE submitted; governance admits exactly that evidence.
    mapping(address tee => bytes32 evidenceHash) private _teeEvidence;

    /// The caller is not an admin.
    error NotAdmin(address caller);
    /// Removing this admin would leave governance empty.
    error LastAdmin(address admin);
    /// The account is already an admin.
    error AlreadyAdmin(address account);
    /// The account is not an admin (nothing to remove).
    error NotAnAdmin(address account);
    /// A public key must be 64 bytes (uncompressed, without the 0x04 prefix).
    error BadPublicKeyLength(uint256 length);
    /// The public key does not hash to the expected address.
    error PublicKeyMismatch(address expected, address derived);
    /// The account already holds a role; a party registers once.
    error AlreadyRegistered(address account, Role role);
    /// This role cannot be self-registered (reviewers are appointed, TEEs use registerTee).
    error RoleNotSelfRegistrable(Role role);
    /// The account is not an active reviewer.
    error NotAReviewer(address account);
    /// The account is not a registered, unrevoked TEE.
    error NotATee(address account);
    /// The TEE was admitted already.
    error AlreadyAdmitted(address tee);
    /// The evidence governance verified is not the evidence the TEE submitted.
    error EvidenceMismatch(address tee, bytes32 submitted, bytes32 verified);
    /// Simulated evidence is not accepted on this deployment.
    error SimulationNotAccepted(address tee);
    /// TEEs whose view of the chain rests on unsigned headers are not accepted on this deployment.
    error UnverifiedHeadersNotAccepted(address tee);
    /// The measurement is not allowlisted.
    error MeasurementNotAllowed(bytes32 measurement);
    /// The evidence is empty or larger than `MAX_EVIDENCE_BYTES`.
    error BadEvidenceLength(uint256 length);

    /// An admin was added (`by` is the admin who added it; the deployer adds itself).
    event AdminAdded(address indexed admin, address indexed by);
    /// An admin was removed.
    event AdminRemoved(address indexed admin, address indexed by);
    /// A party registered (or, for reviewers, was appointed) with a role and public key.
    event PartyRegistered(address indexed party, Role indexed role, bytes publicKey);
    /// A TEE submitted PK_T (in `PartyRegistered`) and its attestation evidence, for governance
    /// to verify.
    event TeeSubmitted(address indexed tee, bytes32 evidenceHash, bytes evidence);
    /// Governance verified a TEE's evidence and admitted it with the measurement the evidence
    /// attests.
    event TeeAdmitted(
        address indexed tee,
        bytes32 indexed measurement,
        EvidenceKind evidenceKind,
        bool unverifiedHeaders,
        address indexed by
    );
    /// Governance appointed a reviewer.
    event ReviewerAppointed(address indexed reviewer, address indexed by);
    /// Governance removed a reviewer.
    event ReviewerRemoved(address indexed reviewer, address indexed by);
    /// Governance revoked a TEE.
    event TeeRevoked(address indexed tee, address indexed by);
    /// Governance allowed or disallowed an enclave measurement.
    event MeasurementAllowed(bytes32 indexed measurement, bool allowed, address indexed by);
    /// Governance changed whether simulated attestation evidence is accepted.
    event AcceptSimulatedSet(bool accepted, address indexed by);
    /// Governance changed whether TEEs may rest their view of the chain on unsigned headers.
    event AcceptUnverifiedHeadersSet(bool accepted, address indexed by);

    /// The largest evidence `submitTee` takes (an SGX/TDX quote with its certification chain is
    /// about 5 kB).
    uint256 public constant MAX_EVIDENCE_BYTES = 16384;

    modifier onlyAdmin() {
        if (!_admins[msg.sender]) revert NotAdmin(msg.sender);
        _;
    }

    constructor() {
        _admins[msg.sender] = true;
        _adminCount = 1;
        emit AdminAdded(msg.sender, msg.sender);
    }

    // ---------------------------------------------------------------- governance

    /// Adds an admin. Admins only.
    function addAdmin(address account) external onlyAdmin {
        if (_admins[account]) revert AlreadyAdmin(account);
        _admins[account] = true;
        _adminCount += 1;
        emit AdminAdded(account, msg.sender);
    }

    /// Removes an admin (possibly the caller), never the last one. Admins only.
    function removeAdmin(address account) external onlyAdmin {
        if (!_admins[account]) revert NotAnAdmin(account);
        if (_adminCount == 1) revert LastAdmin(account);
        _admins[account] = false;
        _adminCount -= 1;
        emit AdminRemoved(account, msg.sender);
    }

    /// Appoints the owner of `publicKey` as a reviewer. Admins only.
    function appointReviewer(bytes calldata publicKey) external onlyAdmin {
        address reviewer = _addressOf(publicKey);
        _register(reviewer, Role.Reviewer, publicKey);
        emit ReviewerAppointed(reviewer, msg.sender);
    }

    /// Removes a reviewer: it can no longer approve or reject models. Admins only.
    function removeReviewer(address reviewer) external onlyAdmin {
        Party storage p = _parties[reviewer];
        if (p.role != Role.Reviewer || !p.active) revert NotAReviewer(reviewer);
        p.active = false;
        emit ReviewerRemoved(reviewer, msg.sender);
    }

    /// Revokes one TEE regardless of its measurement (e.g. its key leaked). Admins only.
    function revokeTee(address tee) external onlyAdmin {
        Party storage p = _parties[tee];
        if (p.role != Role.Tee || !p.active) revert NotATee(tee);
        p.active = false;
        emit TeeRevoked(tee, msg.sender);
    }

    /// Allows or disallows an enclave measurement. Admins only.
    function setMeasurementAllowed(bytes32 measurement, bool allowed) external onlyAdmin {
        _measurementAllowed[_internMeasurement(measurement)] = allowed;
        emit MeasurementAllowed(measurement, allowed, msg.sender);
    }

    /// Sets whether TEEs with simulated attestation evidence may be admitted and count as active
    /// (default false). Admins only.
    function setAcceptSimulated(bool accepted) external onlyAdmin {
        _acceptSimulated = accepted;
        emit AcceptSimulatedSet(accepted, msg.sender);
    }

    /// Sets whether TEEs whose enclave checks chain facts against unsigned headers (a node such as
    /// anvil, whose blocks nobody signs) may be admitted and count as active (default false).
    /// Admins only.
    function setAcceptUnverifiedHeaders(bool accepted) external onlyAdmin {
        _acceptUnverifiedHeaders = accepted;
        emit AcceptUnverifiedHeadersSet(accepted, msg.sender);
    }

    /// Admits a TEE that submitted PK_T and `evidenceHash`'s evidence, after governance verified
    /// that evidence off chain: `measurement`, `evidenceKind` and `unverifiedHeaders` are what the
    /// verified evidence attests. The measurement must be allowlisted; simulated evidence and
    /// unsigned-header views only where governance accepts them. Admins only.
    function admitTee(
        address tee,
        bytes32 evidenceHash,
        bytes32 measurement,
        EvidenceKind evidenceKind,
        bool unverifiedHeaders
    ) external onlyAdmin {
        Party storage p = _parties[tee];
        if (p.role != Role.Tee || !p.active) revert NotATee(tee);
        if (p.admitted) revert AlreadyAdmitted(tee);
        bytes32 submitted = _teeEvidence[tee];
        if (submitted != evidenceHash) revert EvidenceMismatch(tee, submitted, evidenceHash);
        if (evidenceKind == EvidenceKind.Simulated && !_acceptSimulated) revert SimulationNotAccepted(tee);
        if (unverifiedHeaders && !_acceptUnverifiedHeaders) revert UnverifiedHeadersNotAccepted(tee);
        uint32 id = _internMeasurement(measurement);
        if (!_measurementAllowed[id]) revert MeasurementNotAllowed(measurement);
        p.admitted = true;
        p.evidenceKind = evidenceKind;
        p.unverifiedHeaders = unverifiedHeaders;
        p.measurementId = id;
        emit TeeAdmitted(tee, measurement, evidenceKind, unverifiedHeaders, msg.sender);
    }

    // ---------------------------------------------------------------- self-registration

    /// Registers the caller as a user (role 1) or demander (role 2). `publicKey` is the caller's
    /// 64-byte uncompressed key; it must hash to the caller's address.
    function register(Role role, bytes calldata publicKey) external {
        if (role != Role.User && role != Role.Demander) revert RoleNotSelfRegistrable(role);
        _requireOwnKey(publicKey);
        _register(msg.sender, role, publicKey);
    }

    /// Submits the caller as a TEE: its PK_T and its attestation evidence, published in
    /// `TeeSubmitted` for governance to verify. The TEE is not active until governance admits it
    /// (`admitTee`); until then no party shares a key to it and its transactions revert.
    function submitTee(bytes calldata publicKey, bytes calldata evidence) external {
        if (evidence.length == 0 || evidence.length > MAX_EVIDENCE_BYTES) revert BadEvidenceLength(evidence.length);
        _requireOwnKey(publicKey);
        _register(msg.sender, Role.Tee, publicKey);
        bytes32 evidenceHash = keccak256(evidence);
        _teeEvidence[msg.sender] = evidenceHash;
        emit TeeSubmitted(msg.sender, evidenceHash, evidence);
    }

    // ---------------------------------------------------------------- views

    /// The account's role (`None` if unregistered). Removed reviewers and revoked TEEs keep
    /// their role; use `isReviewer` / `isActiveTee` for permission checks.
    function roleOf(address account) external view returns (Role) {
        return _parties[account].role;
    }

    /// The account's 64-byte public key, or empty bytes if unregistered.
    function publicKeyOf(address account) external view returns (bytes memory) {
        if (_parties[account].role == Role.None) return "";
        PublicKey storage k = _publicKeys[account];
        return abi.encodePacked(k.x, k.y);
    }

    /// True if `account` is an appointed reviewer that has not been removed.
    function isReviewer(address account) external view returns (bool) {
        Party memory p = _parties[account];
        return p.role == Role.Reviewer && p.active;
    }

    /// True if `account` is a TEE that governance admitted and did not revoke, whose measurement
    /// is allowlisted, whose evidence is real or simulated-and-accepted, and whose view of the
    /// chain rests on signed headers or unsigned-and-accepted ones.
    function isActiveTee(address account) external view returns (bool) {
        Party memory p = _parties[account];
        if (p.role != Role.Tee || !p.active || !p.admitted) return false;
        if (p.evidenceKind == EvidenceKind.Simulated && !_acceptSimulated) return false;
        if (p.unverifiedHeaders && !_acceptUnverifiedHeaders) return false;
        return _measurementAllowed[p.measurementId];
    }

    /// A TEE's registration: its admitted measurement (zero before admission), evidence kind,
    /// whether it was admitted, whether it is unrevoked, whether its view rests on unsigned
    /// headers, and the hash of the evidence it submitted.
    function teeInfo(address tee)
        external
        view
        returns (
            bytes32 measurement,
            EvidenceKind evidenceKind,
            bool admitted,
            bool unrevoked,
            bool unverifiedHeaders,
            bytes32 evidenceHash
        )
    {
        Party memory p = _parties[tee];
        if (p.role != Role.Tee) return (bytes32(0), EvidenceKind.Simulated, false, false, false, bytes32(0));
        return (
            _measurements[p.measurementId], p.evidenceKind, p.admitted, p.active, p.unverifiedHeaders, _teeEvidence[tee]
        );
    }

    /// True if `account` is an admin.
    function isAdmin(address account) external view returns (bool) {
        return _admins[account];
    }

    /// Number of admins (never zero).
    function adminCount() external view returns (uint256) {
        return _adminCount;
    }

    /// True if governance allowlists `measurement`.
    function isMeasurementAllowed(bytes32 measurement) external view returns (bool) {
        return _measurementAllowed[_measurementIds[measurement]];
    }

    /// True if simulated attestation evidence is accepted.
    function acceptSimulated() external view returns (bool) {
        return _acceptSimulated;
    }

    /// True if TEEs whose view of the chain rests on unsigned headers are accepted.
    function acceptUnverifiedHeaders() external view returns (bool) {
        return _acceptUnverifiedHeaders;
    }

    // ---------------------------------------------------------------- internals

    function _internMeasurement(bytes32 measurement) private returns (uint32 id) {
        id = _measurementIds[measurement];
        if (id == 0) {
            id = ++_measurementCount;
            _measurementIds[measurement] = id;
            _measurements[id] = measurement;
        }
    }

    function _requireOwnKey(bytes calldata publicKey) private view {
        address derived = _addressOf(publicKey);
        if (derived != msg.sender) revert PublicKeyMismatch(msg.sender, derived);
    }

    function _addressOf(bytes calldata publicKey) private pure returns (address) {
        if (publicKey.length != 64) revert BadPublicKeyLength(publicKey.length);
        return address(uint160(uint256(keccak256(publicKey))));
    }

    function _register(address account, Role role, bytes calldata publicKey) private {
        Role existing = _parties[account].role;
        if (existing != Role.None) revert AlreadyRegistered(account, existing);
        _parties[account] = Party({
            role: role,
            active: true,
            admitted: false,
            evidenceKind: EvidenceKind.Simulated,
            unverifiedHeaders: false,
            measurementId: 0
        });
        _publicKeys[account] = PublicKey({x: bytes32(publicKey[0:32]), y: bytes32(publicKey[32:64])});
        emit PartyRegistered(account, role, publicKey);
    }
}
