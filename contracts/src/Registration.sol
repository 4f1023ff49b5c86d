// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Role} from "./MedshareTypes.sol";

/// @title Registration — who is who (paper §5.1(3)(a))
/// @notice Pseudonymous registry of parties: an address, its role and its 64-byte uncompressed
/// secp256k1 public key (no names). Users and demanders register themselves; reviewers are
/// appointed by governance (otherwise a demander could approve its own model); TEEs register
/// themselves with their enclave measurement, and are active only while governance allowlists
/// that measurement (and accepts simulated evidence, if theirs is simulated).
/// Governance is a set of admins: the deployer first; admins add and remove admins, never the
/// last one.
contract Registration {
    struct Party {
        Role role;
        /// Cleared when governance removes a reviewer or revokes a TEE.
        bool active;
        /// TEE only: its attestation evidence is simulated (no hardware).
        bool simulated;
        /// TEE only: interned id of its enclave measurement (see `_measurementIds`).
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
    // One slot: read together by isActiveTee (simulated TEEs) and governance.
    uint64 private _adminCount;
    bool private _acceptSimulated;
    uint32 private _measurementCount;

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

    /// An admin was added (`by` is the admin who added it; the deployer adds itself).
    event AdminAdded(address indexed admin, address indexed by);
    /// An admin was removed.
    event AdminRemoved(address indexed admin, address indexed by);
    /// A party registered (or, for reviewers, was appointed) with a role and public key.
    event PartyRegistered(address indexed party, Role indexed role, bytes publicKey);
    /// A TEE registered: its enclave measurement and a hash of its attestation evidence.
    event TeeRegistered(address indexed tee, bytes32 indexed measurement, bytes32 evidenceHash, bool simulated);
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
        _register(reviewer, Role.Reviewer, publicKey, false);
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

    /// Sets whether TEEs with simulated attestation evidence count as active (default false).
    /// Admins only.
    function setAcceptSimulated(bool accepted) external onlyAdmin {
        _acceptSimulated = accepted;
        emit AcceptSimulatedSet(accepted, msg.sender);
    }

    // ---------------------------------------------------------------- self-registration

    /// Registers the caller as a user (role 1) or demander (role 2). `publicKey` is the caller's
    /// 64-byte uncompressed key; it must hash to the caller's address.
    function register(Role role, bytes calldata publicKey) external {
        if (role != Role.User && role != Role.Demander) revert RoleNotSelfRegistrable(role);
        _requireOwnKey(publicKey);
        _register(msg.sender, role, publicKey, false);
    }

    /// Registers the caller as a TEE with its enclave measurement and the hash of its
    /// attestation evidence. `simulated` marks evidence produced without TEE hardware.
    function registerTee(bytes calldata publicKey, bytes32 measurement, bytes32 evidenceHash, bool simulated)
        external
    {
        _requireOwnKey(publicKey);
        _register(msg.sender, Role.Tee, publicKey, simulated);
        _parties[msg.sender].measurementId = _internMeasurement(measurement);
        emit TeeRegistered(msg.sender, measurement, evidenceHash, simulated);
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

    /// True if `account` is a registered, unrevoked TEE whose measurement is allowlisted and
    /// whose evidence is real or simulated-and-accepted.
    function isActiveTee(address account) external view returns (bool) {
        Party memory p = _parties[account];
        if (p.role != Role.Tee || !p.active) return false;
        if (p.simulated && !_acceptSimulated) return false;
        return _measurementAllowed[p.measurementId];
    }

    /// A TEE's registration: measurement, simulated flag, and whether it is unrevoked.
    function teeInfo(address tee) external view returns (bytes32 measurement, bool simulated, bool unrevoked) {
        Party memory p = _parties[tee];
        if (p.role != Role.Tee) return (bytes32(0), false, false);
        return (_measurements[p.measurementId], p.simulated, p.active);
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

    function _register(address account, Role role, bytes calldata publicKey, bool simulated) private {
        Role existing = _parties[account].role;
        if (existing != Role.None) revert AlreadyRegistered(account, existing);
        _parties[account] = Party({role: role, active: true, simulated: simulated, measurementId: 0});
        _publicKeys[account] = PublicKey({x: bytes32(publicKey[0:32]), y: bytes32(publicKey[32:64])});
        emit PartyRegistered(account, role, publicKey);
    }
}
