#!/usr/bin/env node
// Compiles contracts/src/*.sol with the pinned solc-js (package.json) and fixed settings, and
// writes out/<Name>.json = {contractName, abi, bytecode, deployedBytecode, immutables,
// storageLayout} for the five deployable contracts. `immutables` maps each immutable variable's
// name to the [start, length] byte ranges of the runtime code where the constructor writes its
// value (so a client can rebuild the exact runtime code of a deployment and compare hashes);
// `storageLayout` lists each state variable's slot and offset (the enclave reads contract
// storage through state proofs, so the layout is part of the protocol). Deterministic: same sources + same compiler => byte-identical files.
// Fails (exit 1) on any compiler error or warning.
//
// Usage: node build.js [--out DIR]   (default DIR: contracts/out)
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const EXPECTED_SOLC = '0.8.28+commit.7893614a.Emscripten.clang';
const EXPECTED_OZ = '5.7.0';
// Deployment order: each takes the addresses of earlier ones in its constructor.
const CONTRACTS = ['Registration', 'Data', 'Model', 'Authorization', 'Audit'];
const SETTINGS = {
  // High runs: registerRecords and the TEE's calls are hot; deployment happens once.
  optimizer: { enabled: true, runs: 1000000 },
  viaIR: true,
  evmVersion: 'cancun',
  // No metadata hash in the bytecode: the bytecode then does not change with comments, file
  // paths or source formatting (only the compiler version is appended).
  metadata: { bytecodeHash: 'none' },
  outputSelection: {
    '*': {
      '': ['ast'],
      '*': [
        'abi',
        'evm.bytecode.object',
        'evm.deployedBytecode.object',
        'evm.deployedBytecode.immutableReferences',
        'storageLayout',
      ],
    },
  },
};

const root = __dirname;
const nodeModules = path.join(root, 'node_modules');

function fail(msg) {
  process.stderr.write(`build.js: ${msg}\n`);
  process.exit(1);
}

function parseArgs() {
  const args = process.argv.slice(2);
  let out = path.join(root, 'out');
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out' && i + 1 < args.length) {
      out = path.resolve(args[++i]);
    } else {
      fail(`unknown argument ${args[i]}; usage: node build.js [--out DIR]`);
    }
  }
  return { out };
}

function checkVersions() {
  const v = solc.version();
  if (v !== EXPECTED_SOLC) fail(`solc-js is ${v}, expected ${EXPECTED_SOLC}; run npm ci`);
  const ozPkg = path.join(nodeModules, '@openzeppelin', 'contracts', 'package.json');
  const oz = JSON.parse(fs.readFileSync(ozPkg, 'utf8')).version;
  if (oz !== EXPECTED_OZ) fail(`@openzeppelin/contracts is ${oz}, expected ${EXPECTED_OZ}; run npm ci`);
}

function readSources() {
  const srcDir = path.join(root, 'src');
  const sources = {};
  for (const f of fs.readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort()) {
    sources[`src/${f}`] = { content: fs.readFileSync(path.join(srcDir, f), 'utf8') };
  }
  return sources;
}

// Resolves imports the compiler did not get as sources: only from node_modules (pinned
// packages) and src/.
function findImports(importPath) {
  const candidates = [path.join(nodeModules, importPath), path.join(root, importPath)];
  for (const c of candidates) {
    const rel = path.relative(root, c);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    if (fs.existsSync(c)) return { contents: fs.readFileSync(c, 'utf8') };
  }
  return { error: `import not found: ${importPath}` };
}

// AST id -> name of every immutable state variable in the compiled sources.
function immutableNames(output) {
  const names = {};
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    if (node.nodeType === 'VariableDeclaration' && node.mutability === 'immutable') {
      names[String(node.id)] = node.name;
    }
    for (const k of Object.keys(node)) if (typeof node[k] === 'object') walk(node[k]);
  };
  for (const f of Object.keys(output.sources || {}).sort()) walk(output.sources[f].ast);
  return names;
}

function immutablesOf(name, refs, names) {
  const out = {};
  for (const id of Object.keys(refs || {})) {
    const n = names[id];
    if (!n) fail(`${name}: immutable with AST id ${id} has no name`);
    if (out[n]) fail(`${name}: two immutables named ${n}`);
    out[n] = refs[id].map((r) => [r.start, r.length]).sort((a, b) => a[0] - b[0]);
  }
  const sorted = {};
  for (const k of Object.keys(out).sort()) sorted[k] = out[k];
  return sorted;
}

function storageOf(layout) {
  const member = (v) => ({ label: v.label, slot: v.slot, offset: v.offset, type: layout.types[v.type].label });
  const structs = {};
  for (const t of Object.keys(layout.types || {}).sort()) {
    const ty = layout.types[t];
    if (ty.members) structs[ty.label] = ty.members.map(member);
  }
  return { variables: (layout.storage || []).map(member), structs };
}

function main() {
  const { out } = parseArgs();
  checkVersions();
  const input = { language: 'Solidity', sources: readSources(), settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  const diagnostics = output.errors || [];
  for (const d of diagnostics) process.stderr.write(`${d.formattedMessage || d.message}\n`);
  const bad = diagnostics.filter((d) => d.severity === 'error' || d.severity === 'warning');
  if (bad.length > 0) fail(`${bad.length} compiler error(s)/warning(s); nothing written`);

  const names = immutableNames(output);
  fs.mkdirSync(out, { recursive: true });
  for (const name of CONTRACTS) {
    const unit = output.contracts && output.contracts[`src/${name}.sol`];
    const c = unit && unit[name];
    if (!c) fail(`compiler produced no contract ${name}`);
    const bytecode = c.evm.bytecode.object;
    const deployed = c.evm.deployedBytecode.object;
    if (!bytecode || !deployed) fail(`${name} has empty bytecode`);
    if (bytecode.includes('__$')) fail(`${name} has unlinked library references`);
    const artifact = {
      contractName: name,
      abi: c.abi,
      bytecode: `0x${bytecode}`,
      deployedBytecode: `0x${deployed}`,
      immutables: immutablesOf(name, c.evm.deployedBytecode.immutableReferences, names),
      storageLayout: storageOf(c.storageLayout),
    };
    fs.writeFileSync(path.join(out, `${name}.json`), `${JSON.stringify(artifact, null, 2)}\n`);
  }
  process.stdout.write(`build.js: wrote ${CONTRACTS.length} artifacts to ${out}\n`);
}

main();
