// medshare's cryptography in the browser, in the formats of crates/crypto (the known-answer
// vectors of crates/crypto/testdata pass here too: test/vectors.test.ts).

export * from './bytes.ts';
export * as aead from './aead.ts';
export * from './keyshare.ts';
export * from './record.ts';
export * from './result.ts';
export * as eip712 from './eip712.ts';
export * from './keystore.ts';
export * from './upload.ts';
