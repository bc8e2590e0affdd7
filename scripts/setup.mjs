#!/usr/bin/env node
// One-step install used by `npm start`, `npm test` and `.ci/run`, so a fresh clone needs no
// prose instructions. Re-installs only when package-lock.json changed since the last install.
import { createHash } from 'node:crypto';
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lock = readFileSync(join(root, 'package-lock.json'));
const digest = createHash('sha256').update(lock).digest('hex');
const stampFile = join(root, 'node_modules', '.flowsteer-setup-stamp');

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`flowsteer needs Node >= 20 (found ${process.versions.node}).`);
  process.exit(1);
}

if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === digest) process.exit(0);

console.log('[setup] installing npm dependencies (npm ci)...');
// onnxruntime-node's postinstall downloads CUDA providers from the internet and fails offline;
// CPU is bundled. GPU users: run `npm ci` without this variable to get the CUDA provider.
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip' };
execSync('npm ci --no-audit --no-fund', { cwd: root, env, stdio: 'inherit' });
writeFileSync(stampFile, digest);
console.log('[setup] done.');
