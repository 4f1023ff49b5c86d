#!/usr/bin/env node
// A stand-in for a native `solc` binary, for forge (foundry.toml: `solc = "forge-solc.js"`).
// forge downloads native solc builds from binaries.soliditylang.org, which this project's
// machines cannot reach, and no package registry ships a native solc; the pinned solc-js of
// package.json (the compiler build.js uses) does the work instead. Two modes, as forge calls it:
//   forge-solc.js --version          prints the version the way native solc does
//   forge-solc.js [--base-path P] [--include-path P]... [--allow-paths P,...] --standard-json
//                                    reads standard JSON on stdin, writes the output on stdout
// Imports the input does not carry are read from the base path and include paths (forge normally
// sends every source itself). Anything else exits 1.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require(path.join(__dirname, 'node_modules', 'solc'));

// solc-js says 0.8.28+commit.7893614a.Emscripten.clang; forge parses a native solc's last line.
const [semver, commit] = solc.version().split('+');
const args = process.argv.slice(2);

if (args.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${semver}+${commit.split('.').slice(0, 2).join('.')}.Linux.g++\n`);
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write(`forge-solc.js: only --version and --standard-json are supported (got: ${args.join(' ')})\n`);
  process.exit(1);
}

let basePath = process.cwd();
const includePaths = [];
for (let i = 0; i < args.length; i++) {
  const takeValue = () => {
    if (i + 1 >= args.length) {
      process.stderr.write(`forge-solc.js: ${args[i]} needs a value\n`);
      process.exit(1);
    }
    return args[++i];
  };
  switch (args[i]) {
    case '--base-path': basePath = path.resolve(takeValue()); break;
    case '--include-path': includePaths.push(path.resolve(takeValue())); break;
    case '--allow-paths': takeValue(); break; // reads are limited to base and include paths below
    default: break; // --standard-json and flags that need no value
  }
}

function findImports(importPath) {
  for (const dir of [basePath, ...includePaths]) {
    const candidate = path.resolve(dir, importPath);
    const rel = path.relative(dir, candidate);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
  }
  return { error: `forge-solc.js: import not found: ${importPath}` };
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
