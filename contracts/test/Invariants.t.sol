// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {vm, InvariantTargets} from "./invariant/Cheats.sol";
import {Handler} from "./invariant/Handler.sol";
import {Registration} from "../src/Registration.sol";
import {Data} from "../src/Data.sol";
import {Model} from "../src/Model.sol";
import {Authorization} from "../src/Authorization.sol";
import {Audit} from "../src/Audit.sol";

/// forge's log(string, uint256) (prints with `forge test -vv`), by hand like the cheatcodes:
/// a plain call (the console address has no code, which a typed call would refuse).
function log(string memory label, uint256 value) view {
    (bool ok,) = address(0x000000000000000000636F6e736F6c652e6c6f67).staticcall(
        abi.encodeWithSignature("log(string,uint256)", label, value)
    );
    ok;
}

/// Invariant tests of the five medshare contracts (issue 11). forge calls the handler's entry
/// points — every external state-changing function of every contract, as random parties, with
/// bounded arguments — in runs of `depth` calls (foundry.toml: 1,000 runs × 100) and checks
/// every `invariant_*` after each call. See contracts/README.md.
contract MedshareInvariants is InvariantTargets {
    /// Each run of 100 calls must do at least this much real work (successful calls).
    uint256 internal constant MIN_SUCCESSES_PER_RUN = 10;

    Handler internal handler;

    function setUp() external {
        vm.roll(1_000);
        vm.warp(1_750_000_000);
        handler = new Handler();
        handler.bootstrap();
        _target(address(handler), handler.selectors());
    }

    /// Every invariant below, after every call, in one campaign of 1,000 runs × 100 calls (forge
    /// runs a separate campaign for each `invariant_*` function: seven would cost seven times
    /// the CI time for the same calls checked against the same properties):
    ///
    /// 1. A pad is released, and a grant made, only with the record owner's consent — the owner's
    ///    grant (or signed Consent) for a job a reviewer approved, of the record's type, or the
    ///    owner's own release — for a live record whose TEE is active; a job is authorized for a
    ///    record only if the owner granted that version to it or set a policy for its type
    ///    (`checkPadsNeedConsent`).
    /// 2. Only an admitted, unrevoked TEE (measurement allowlisted, evidence accepted) posts
    ///    verifications, debits, results and audit entries (`checkOnlyActiveTeesPost`).
    /// 3. A record's spent privacy budget never exceeds its total (`checkBudgets`).
    /// 4. A revoked grant releases nothing new: it authorizes the job no more (but for a policy)
    ///    (`checkRevokedGrants`).
    /// 5. A job is verified, deployed, debited or completed only after an appointed reviewer
    ///    approved it while pending (`checkJobsNeedApproval`).
    /// 6. Only governance changes admins, reviewers, TEE admissions and data-type rules (cohort
    ///    floors, ε caps); it always keeps an admin (`checkGovernance`).
    /// 7. Every call succeeds exactly when the handler's model of the protocol says it must;
    ///    records (a ciphertext hash is registered once, ever) and consent nonces are the model's
    ///    (`checkModel`).
    function invariant_theProtocolHolds() external view {
        _checkAll(false);
    }

    /// The seven checks; `full`: over everything, not only what the last call touched.
    function _checkAll(bool full) internal view {
        _holds(handler.checkPadsNeedConsent(full));
        _holds(handler.checkOnlyActiveTeesPost(full));
        _holds(handler.checkBudgets(full));
        _holds(handler.checkRevokedGrants(full));
        _holds(handler.checkJobsNeedApproval(full));
        _holds(handler.checkGovernance(full));
        _holds(handler.checkModel(full));
    }

    /// After each run: all seven invariants over everything (after each call they check what
    /// the call touched, and their violation counters, which see every log of every call), and
    /// the run did real work, so the suite cannot pass by doing nothing.
    function afterInvariant() external view {
        _checkAll(true);
        require(handler.okTotal() >= MIN_SUCCESSES_PER_RUN, "a run of the campaign did almost nothing");
    }

    /// The contracts under test are byte for byte the checked-in artifacts (contracts/out), which
    /// build.js makes with the same compiler and settings.
    function test_theTestedBytecodeIsTheShippedBytecode() external view {
        _sameCode("Registration", type(Registration).creationCode);
        _sameCode("Data", type(Data).creationCode);
        _sameCode("Model", type(Model).creationCode);
        _sameCode("Authorization", type(Authorization).creationCode);
        _sameCode("Audit", type(Audit).creationCode);
    }

    /// A deterministic campaign like forge's (40 runs of 100 calls from the same start, seeds
    /// from keccak256) reaches every entry point's success path and breaks no invariant: the
    /// handlers can do real work. Prints the successful calls per entry point (`-vv`).
    function test_everyEntryPointCanSucceed() external {
        bytes4[] memory sel = handler.selectors();
        uint256[] memory total = new uint256[](sel.length);
        uint256 seed = 42;
        uint256 fewest = type(uint256).max;
        for (uint256 run = 0; run < 40; run++) {
            uint256 start = vm.snapshotState();
            for (uint256 i = 0; i < 100; i++) {
                seed = uint256(keccak256(abi.encode(seed)));
                bytes4 s = sel[seed % sel.length];
                // A refusal the model expects reverts; the checks below see everything else.
                (bool ok,) = address(handler).call(abi.encodePacked(s, _args(s, seed)));
                ok;
            }
            _checkAll(true);
            for (uint256 k = 0; k < sel.length; k++) total[k] += handler.okCalls(sel[k]);
            if (handler.okTotal() < fewest) fewest = handler.okTotal();
            vm.revertToState(start);
        }
        string[36] memory names = _names();
        for (uint256 k = 0; k < sel.length; k++) {
            log(names[k], total[k]);
            require(total[k] > 0, string.concat("entry point never succeeded: ", names[k]));
        }
        log("fewest successful calls in a run", fewest);
        require(fewest >= MIN_SUCCESSES_PER_RUN, "a run did almost nothing");
    }

    // ------------------------------------------------------------------ helpers

    function _holds(string memory why) internal pure {
        require(bytes(why).length == 0, why);
    }

    function _sameCode(string memory name, bytes memory code) internal view {
        string memory json = vm.readFile(string.concat("out/", name, ".json"));
        bytes memory shipped = vm.parseJsonBytes(json, ".bytecode");
        require(keccak256(code) == keccak256(shipped), string.concat(name, ": creation code differs from out/"));
    }

    /// Four pseudo-random words (extra ones are ignored); bools and uint8s masked to be ABI-clean.
    function _args(bytes4 s, uint256 seed) internal view returns (bytes memory) {
        uint256 a = uint256(keccak256(abi.encode(seed, 1)));
        uint256 b = uint256(keccak256(abi.encode(seed, 2)));
        uint256 c = uint256(keccak256(abi.encode(seed, 3)));
        uint256 d = uint256(keccak256(abi.encode(seed, 4)));
        if (s == handler.register.selector) b %= 256;
        else if (s == handler.postModelVerification.selector || s == handler.postResult.selector) d %= 256;
        else if (s == handler.setPolicy.selector) c %= 2;
        return abi.encode(a, b, c, d);
    }

    /// The entry points' names, in `Handler.selectors()` order.
    function _names() internal pure returns (string[36] memory) {
        return [
            string("addAdmin"), "removeAdmin", "appointReviewer", "removeReviewer", "revokeTee",
            "setMeasurementAllowed", "setAcceptSimulated", "setAcceptUnverifiedHeaders", "admitTee", "register",
            "submitTee", "registerRecords", "updateRecord", "deleteRecord", "setDataTypeRules", "submitModel",
            "approveModel", "rejectModel", "postModelVerification", "postRecordVerifications", "debitBudgets",
            "postResult", "reportResultFailure", "grant", "grantWithSignature", "revoke", "setPolicy",
            "releasePads", "setBudget", "debit", "recordUse", "advanceBlocks", "grantMany", "grantBatch",
            "revokeBatch", "revokeFromBatch"
        ];
    }
}
