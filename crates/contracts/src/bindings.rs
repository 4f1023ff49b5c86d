//! `sol!` bindings generated from the artifacts in `contracts/out/` (ABI and creation and
//! runtime bytecode). The macro tracks the JSON files, so editing a contract and rebuilding the
//! artifacts (`node contracts/build.js`) regenerates these types; they cannot drift from what
//! is deployed.

// Generated code: the ABI carries no doc comments for its items, and the generated event
// constructors take one argument per event field.
#![allow(missing_docs, clippy::too_many_arguments)]

use alloy_sol_types::sol;

sol!(
    #[sol(all_derives)]
    Registration,
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/out/Registration.json"
    )
);

sol!(
    #[sol(all_derives)]
    Data,
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/out/Data.json")
);

sol!(
    #[sol(all_derives)]
    Model,
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/out/Model.json"
    )
);

sol!(
    #[sol(all_derives)]
    Authorization,
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/out/Authorization.json"
    )
);

sol!(
    #[sol(all_derives)]
    Audit,
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/out/Audit.json"
    )
);
